import { type Dirent, lstat as lstatCallback, readdir as readdirCallback, type Stats } from 'node:fs';
import { lstat, readdir, realpath, stat } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, relative, sep } from 'node:path';
import { promisify } from 'node:util';
import { type Diagnostic, errnoCode } from './errors.js';
import type { Benchmark } from './manifest.js';

/**
 * Entries at the root of a benchmark that an attempt must never see: the scorecard and other
 * evaluator material, the outputs of earlier attempts and scoring, and the engine's state.
 */
export const FORBIDDEN = [
  'scorecard.md',
  'runner.yaml',
  'baseline-manifest.md',
  'eval-attempts',
  'eval-results',
  '.pipeline',
];

/** In brownfield mode, the contents of this directory become the workspace root. */
export const BASELINE_DIR = 'baseline';

export interface VisibleFile {
  /** Path inside the workspace, with `/` separators. */
  path: string;
  /** Absolute real path of the content (symlinks inside the benchmark are followed). */
  source: string;
  /** Only the executable bit carries meaning across machines. */
  mode: 0o644 | 0o755;
  size: number;
  mtimeMs: number;
  ino: number;
  /** sha256 of the content, filled by hashInventory. */
  hash?: string;
}

/** What the workspace of every attempt of a benchmark starts from. */
export interface Inventory {
  files: VisibleFile[];
  /** Directories, including empty ones, with `/` separators. */
  dirs: string[];
  /** `benchmarks/<slug>/baseline/ (N files)` for brownfield, `empty workspace` otherwise. */
  baselineSource: string;
}

const toPosix = (p: string) => p.split(sep).join('/');

function forbiddenRoot(relToBenchmark: string): string | undefined {
  const first = toPosix(relToBenchmark).split('/')[0]?.toLowerCase();
  return FORBIDDEN.find((f) => f === first);
}

/**
 * Names that must not sit at the root of a baseline: the baseline's contents become the
 * workspace root, where these would pass for the evaluator's own scorecard and outputs.
 */
const BASELINE_FORBIDDEN = ['scorecard.md', 'eval-attempts', 'eval-results'];

/** Whether a relative path (as `relative` or `normalize` gives it) leads out of where it is relative to. */
export function outside(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/** Whether `dir` is `path` or one of its ancestors (both real, absolute). */
export const contains = (dir: string, path: string) =>
  path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

type Checked = { rel: string } | { refuse: string; code: string };

/** A problem found inside a visible directory, said after `"<entry>" contains `. */
interface Refusal {
  text: string;
  code: string;
}

/**
 * Resolves `model_visible_files` into the list of files an attempt receives, refusing anything
 * forbidden or outside the benchmark: `..`, absolute paths, the benchmark itself, and links
 * (at any depth inside a visible directory) whose target leads out, to the benchmark itself, to a
 * forbidden entry, to an ancestor of a visible entry (which would show what is around it) or to
 * an ancestor of the link (a loop). A baseline may not hold, at its root, names that would pass
 * for the scorecard or the outputs, and no visible file may be a hard link to an evaluator-only
 * file. Every entry of a visible directory is either taken or refused: nothing is skipped
 * silently. Every problem is a diagnostic located at its `model_visible_files[i]` entry.
 */
export async function scanVisibleFiles(
  bench: Benchmark,
): Promise<{ inventory: Inventory; diagnostics: Diagnostic[] }> {
  const { manifest, source } = bench;
  const benchReal = await realpath(bench.dir);
  const diagnostics: Diagnostic[] = [];
  const files = new Map<string, VisibleFile>();
  const dirs = new Set<string>();
  let baselineFiles = -1;

  const problem = (i: number, message: string, code: string) =>
    diagnostics.push(source.diagnostic(['model_visible_files', i], message, code));

  // First every entry's real path: a link anywhere must not lead to an ancestor of any of them.
  const entries: { i: number; entry: string; normal: string; real: string }[] = [];
  for (const [i, entry] of manifest.model_visible_files.entries()) {
    const resolved = await resolveEntry(bench.dir, entry);
    if ('refuse' in resolved) problem(i, resolved.refuse, resolved.code);
    else entries.push({ i, entry, ...resolved });
  }
  /** Every directory strictly above a visible entry, up to the benchmark, with that entry. */
  const ancestors = new Map<string, string>();
  for (const e of entries) {
    for (let d = dirname(e.real); contains(benchReal, d) && !ancestors.has(d); d = dirname(d)) {
      ancestors.set(d, e.entry);
      if (d === benchReal) break;
    }
  }
  const evaluatorOnly = await evaluatorInodes(benchReal);

  /** Checks where a link leads (a real path); `loop` is the real directories the walk came through. */
  const check = (real: string, loop: readonly string[] = []): Checked => {
    const rel = relative(benchReal, real);
    if (outside(rel)) return { refuse: `leads outside the benchmark (to ${real})`, code: 'visible-escapes' };
    if (rel === '') {
      return {
        refuse: 'leads to the benchmark itself, which holds the scorecard and runner.yaml',
        code: 'visible-forbidden',
      };
    }
    const forbidden = forbiddenRoot(rel);
    if (forbidden)
      return { refuse: `${forbidden} is never visible to an attempt`, code: 'visible-forbidden' };
    const shown = `${toPosix(rel)}/`;
    if (loop.some((d) => contains(real, d)))
      return { refuse: `leads to ${shown}, an ancestor of itself (a loop)`, code: 'visible-ancestor' };
    const above = ancestors.get(real);
    if (above !== undefined) {
      return {
        refuse: `leads to ${shown}, an ancestor of the visible entry "${above}", which would show what is around it`,
        code: 'visible-ancestor',
      };
    }
    return { rel };
  };

  for (const { i, entry, normal, real } of entries) {
    // An entry reached through a link is checked like a link; a plain path was checked by name.
    const checked = real === join(benchReal, normal) ? { rel: normal } : check(real);
    if ('refuse' in checked) {
      problem(i, `"${entry}" ${checked.refuse}`, checked.code);
      continue;
    }
    const stats = await stat(real);
    const isBaseline = bench.manifest.state_mode === 'brownfield' && toPosix(normal) === BASELINE_DIR;
    // The baseline's contents are the workspace root; any other entry keeps its own path.
    const base = isBaseline ? '' : toPosix(normal);
    if (stats.isFile()) {
      const owner = evaluatorOnly.get(inode(stats));
      if (owner) problem(i, `"${entry}" is a hard link to ${owner}`, 'visible-forbidden');
      else if (!addFile(files, base, real, stats))
        problem(i, `"${entry}" is already in the workspace from another entry`, 'visible-duplicate');
      continue;
    }
    if (!stats.isDirectory()) {
      problem(i, `"${entry}" is neither a file nor a directory`, 'visible-missing');
      continue;
    }
    if (base) dirs.add(base);
    const before = files.size;
    const walk = new Walk(files, dirs, check, evaluatorOnly);
    await walk.directory(real, base, '', [real]);
    if (isBaseline) {
      for (const name of await readdir(real)) {
        if (BASELINE_FORBIDDEN.includes(name.toLowerCase())) {
          walk.refusals.push({
            text: `${name}, which at the workspace root would pass for the evaluator's`,
            code: 'visible-forbidden',
          });
        }
      }
    }
    // The walk finds them concurrently; report them in a stable order.
    walk.refusals.sort((a, b) => (a.text < b.text ? -1 : a.text > b.text ? 1 : 0));
    for (const r of walk.refusals) problem(i, `"${entry}" contains ${r.text}`, r.code);
    if (isBaseline) baselineFiles = files.size - before;
  }

  const inventory: Inventory = {
    files: [...files.values()].sort((a, b) => (a.path < b.path ? -1 : 1)),
    dirs: [...dirs].sort(),
    baselineSource:
      baselineFiles >= 0
        ? `${toPosix(relative(process.cwd(), join(bench.dir, BASELINE_DIR)))}/ (${baselineFiles} files)`
        : 'empty workspace',
  };
  return { inventory, diagnostics };
}

/** One entry as written: checked by name, then resolved to its real path. */
async function resolveEntry(
  benchDir: string,
  entry: string,
): Promise<{ normal: string; real: string } | { refuse: string; code: string }> {
  if (isAbsolute(entry)) {
    return {
      refuse: `"${entry}" is an absolute path; visible files must be inside the benchmark`,
      code: 'visible-escapes',
    };
  }
  // `docs/` and `./` name what `docs` and `.` do.
  const normal = normalize(entry).replace(/(.)\/+$/, '$1');
  if (outside(normal)) return { refuse: `"${entry}" leads outside the benchmark`, code: 'visible-escapes' };
  if (normal === '.') {
    return {
      refuse: `"${entry}" is the whole benchmark, which holds the scorecard and runner.yaml`,
      code: 'visible-forbidden',
    };
  }
  const literal = forbiddenRoot(normal);
  if (literal)
    return { refuse: `"${entry}": ${literal} is never visible to an attempt`, code: 'visible-forbidden' };
  const abs = join(benchDir, normal);
  try {
    return { normal, real: await realpath(abs) };
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ELOOP') return { refuse: `"${entry}" is a symlink loop`, code: 'visible-missing' };
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    // A dangling symlink is missing too, but say where it points.
    const link = await lstat(abs).catch(() => undefined);
    const missing = link?.isSymbolicLink() ? `"${entry}" is a dangling symlink` : `"${entry}" does not exist`;
    return { refuse: missing, code: 'visible-missing' };
  }
}

const inode = (s: Stats) => `${s.dev}:${s.ino}`;

/** The inodes of the evaluator-only files at the benchmark's root, so a hard link to one is seen. */
async function evaluatorInodes(benchReal: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  for (const name of FORBIDDEN) {
    const s = await stat(join(benchReal, name)).catch(() => undefined);
    if (s?.isFile()) found.set(inode(s), name);
  }
  return found;
}

/** Adds a file; false when another visible entry already put a file at that workspace path. */
function addFile(files: Map<string, VisibleFile>, path: string, real: string, s: Stats): boolean {
  if (files.has(path)) return false;
  files.set(path, {
    path,
    source: real,
    mode: s.mode & 0o111 ? 0o755 : 0o644,
    size: s.size,
    mtimeMs: s.mtimeMs,
    ino: s.ino,
  });
  return true;
}

/**
 * The walk's readdir and lstat: the callback API under a promise, which for thousands of small
 * files costs about half what fs/promises does.
 */
const readdirByCallback = promisify(readdirCallback);
const lstatByCallback = promisify(lstatCallback);

/**
 * Walks one visible directory with readdir and lstat, every name as it is (a newline or U+2028
 * in a name is just a character), each directory's entries stat'ed concurrently. Links are
 * followed only where `check` allows; whatever cannot be taken is a refusal, never skipped.
 */
class Walk {
  readonly refusals: Refusal[] = [];

  constructor(
    private readonly files: Map<string, VisibleFile>,
    private readonly dirs: Set<string>,
    private readonly check: (real: string, loop: readonly string[]) => Checked,
    private readonly evaluatorOnly: ReadonlyMap<string, string>,
  ) {}

  /**
   * `realDir` is walked as workspace path `base`; `shown` is its path inside the visible entry,
   * for messages; `loop` the real directories this walk came through (links included).
   */
  async directory(realDir: string, base: string, shown: string, loop: readonly string[]): Promise<void> {
    let names: Dirent[];
    try {
      names = await readdirByCallback(realDir, { withFileTypes: true });
    } catch (error) {
      this.#unreadable(shown || '.', error);
      return;
    }
    await Promise.all(
      names.map((d) => {
        const rel = shown ? `${shown}/${d.name}` : d.name;
        return this.#entry(d, join(realDir, d.name), base ? `${base}/${d.name}` : d.name, rel, loop);
      }),
    );
  }

  async #entry(d: Dirent, abs: string, path: string, rel: string, loop: readonly string[]): Promise<void> {
    if (d.isDirectory()) {
      this.dirs.add(path);
      return this.directory(abs, path, rel, loop);
    }
    if (d.isSymbolicLink()) return this.#link(abs, path, rel, loop);
    if (!d.isFile()) return this.#special(rel);
    let s: Stats;
    try {
      s = await lstatByCallback(abs);
    } catch (error) {
      return this.#unreadable(rel, error);
    }
    this.#file(path, abs, s, rel);
  }

  async #link(abs: string, path: string, rel: string, loop: readonly string[]): Promise<void> {
    let real: string;
    try {
      real = await realpath(abs);
    } catch (error) {
      const code = errnoCode(error);
      if (rel.includes('\uFFFD') || (code !== 'ENOENT' && code !== 'ELOOP'))
        return this.#unreadable(rel, error);
      const what = code === 'ELOOP' ? 'a symlink loop' : 'a dangling symlink';
      this.refusals.push({ text: `${what}: ${rel}`, code: 'visible-missing' });
      return;
    }
    // The directory holding the link is on the way too: `src/self -> .` loops.
    const checked = this.check(real, [...loop, dirname(abs)]);
    if ('refuse' in checked) {
      this.refusals.push({ text: `a symlink that ${checked.refuse}: ${rel}`, code: checked.code });
      return;
    }
    const s = await stat(real);
    if (s.isFile()) return this.#file(path, real, s, rel);
    if (!s.isDirectory()) return this.#special(rel);
    this.dirs.add(path);
    return this.directory(real, path, rel, [...loop, real]);
  }

  #file(path: string, real: string, s: Stats, rel: string): void {
    const owner = this.evaluatorOnly.get(inode(s));
    if (owner) {
      this.refusals.push({ text: `a hard link to ${owner}: ${rel}`, code: 'visible-forbidden' });
    } else if (!addFile(this.files, path, real, s)) {
      this.refusals.push({
        text: `${rel}, which another entry already put in the workspace`,
        code: 'visible-duplicate',
      });
    }
  }

  #special(rel: string): void {
    this.refusals.push({
      text: `${rel}, which is neither a file, a directory nor a symlink`,
      code: 'visible-missing',
    });
  }

  /**
   * An entry that was listed but cannot be read by its name. A name that is not valid UTF-8
   * reads back with U+FFFD in place of its bytes and so names nothing; say so.
   */
  #unreadable(rel: string, error: unknown): void {
    const code = errnoCode(error);
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    this.refusals.push(
      rel.includes('\uFFFD')
        ? {
            text: `a name that is not valid UTF-8, which cannot be copied by name: ${rel}`,
            code: 'visible-name',
          }
        : { text: `${rel}, which disappeared while it was read`, code: 'visible-missing' },
    );
  }
}
