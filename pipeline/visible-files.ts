import { readFileSync } from 'node:fs';
import { lstat, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { hashFile, hashSync } from 'hasha';
import { type Diagnostic, errnoCode } from './errors.js';
import { readJsonOrUndefined, writeJsonAtomic } from './fs-atomic.js';
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

function outside(rel: string): boolean {
  return rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel);
}

/**
 * Resolves `model_visible_files` into the list of files an attempt receives, refusing anything
 * forbidden or outside the benchmark: `..`, absolute paths, and symlinks whose target leads out
 * or to a forbidden entry (also deep inside a visible directory). Every problem is a diagnostic
 * located at its `model_visible_files[i]` entry.
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

  /** Checks one real path and returns its path relative to the benchmark, or a reason to refuse it. */
  const check = (real: string): { rel: string } | { refuse: string; code: string } => {
    const rel = relative(benchReal, real);
    if (outside(rel)) return { refuse: `leads outside the benchmark (to ${real})`, code: 'visible-escapes' };
    const forbidden = forbiddenRoot(rel);
    if (forbidden)
      return { refuse: `${forbidden} is never visible to an attempt`, code: 'visible-forbidden' };
    return { rel };
  };

  for (const [i, entry] of manifest.model_visible_files.entries()) {
    if (isAbsolute(entry)) {
      problem(
        i,
        `"${entry}" is an absolute path; visible files must be inside the benchmark`,
        'visible-escapes',
      );
      continue;
    }
    const normal = normalize(entry);
    if (outside(normal)) {
      problem(i, `"${entry}" leads outside the benchmark`, 'visible-escapes');
      continue;
    }
    if (normal === '.') {
      problem(
        i,
        `"${entry}" is the whole benchmark, which holds the scorecard and runner.yaml`,
        'visible-forbidden',
      );
      continue;
    }
    const literal = forbiddenRoot(normal);
    if (literal) {
      problem(i, `"${entry}": ${literal} is never visible to an attempt`, 'visible-forbidden');
      continue;
    }
    const abs = join(bench.dir, normal);
    let real: string;
    try {
      real = await realpath(abs);
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        // A dangling symlink is missing too, but say where it points.
        const link = await lstat(abs).catch(() => undefined);
        const missing = link?.isSymbolicLink()
          ? `"${entry}" is a dangling symlink`
          : `"${entry}" does not exist`;
        problem(i, missing, 'visible-missing');
        continue;
      }
      throw error;
    }
    const checked = check(real);
    if ('refuse' in checked) {
      problem(i, `"${entry}" ${checked.refuse}`, checked.code);
      continue;
    }
    const stats = await stat(real);
    const isBaseline =
      bench.manifest.state_mode === 'brownfield' && toPosix(normal).replace(/\/$/, '') === BASELINE_DIR;
    // The baseline's contents are the workspace root; any other entry keeps its own path.
    const base = isBaseline ? '' : toPosix(normal);
    if (stats.isFile()) {
      if (!addFile(files, base, real, stats))
        problem(i, `"${entry}" is already in the workspace from another entry`, 'visible-duplicate');
      continue;
    }
    if (!stats.isDirectory()) {
      problem(i, `"${entry}" is neither a file nor a directory`, 'visible-missing');
      continue;
    }
    if (base) dirs.add(base);
    const before = files.size;
    const refusals = await walkDirectory(real, base, files, dirs, check);
    for (const r of refusals) problem(i, `"${entry}" contains ${r.text}`, r.code);
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

/** Adds a file; false when another visible entry already put a file at that workspace path. */
function addFile(
  files: Map<string, VisibleFile>,
  path: string,
  real: string,
  s: import('node:fs').Stats,
): boolean {
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

/** Walks a visible directory, following symlinks only where they stay inside and allowed. */
interface Refusal {
  text: string;
  code: string;
}

async function walkDirectory(
  realDir: string,
  base: string,
  files: Map<string, VisibleFile>,
  dirs: Set<string>,
  check: (real: string) => { rel: string } | { refuse: string; code: string },
  seen = new Set<string>([realDir]),
): Promise<Refusal[]> {
  const refusals: Refusal[] = [];
  const twice = (p: string) => ({
    text: `${p}, which another entry already put in the workspace`,
    code: 'visible-duplicate',
  });
  const entries = await (await import('fast-glob')).default('**', {
    cwd: realDir,
    dot: true,
    onlyFiles: false,
    followSymbolicLinks: false,
    // lstat of every entry, done by the walker concurrently rather than one by one here.
    stats: true,
  });
  for (const e of entries) {
    const path = base ? `${base}/${e.path}` : e.path;
    const abs = join(realDir, e.path);
    if (e.dirent.isDirectory()) {
      dirs.add(path);
    } else if (e.dirent.isFile()) {
      if (!addFile(files, path, abs, e.stats!)) refusals.push(twice(e.path));
    } else if (e.dirent.isSymbolicLink()) {
      const real = await realpath(abs).catch(() => undefined);
      if (!real) {
        refusals.push({ text: `a dangling symlink: ${e.path}`, code: 'visible-missing' });
        continue;
      }
      const checked = check(real);
      if ('refuse' in checked) {
        refusals.push({ text: `a symlink that ${checked.refuse}: ${e.path}`, code: checked.code });
        continue;
      }
      const s = await stat(real);
      if (s.isFile()) {
        if (!addFile(files, path, real, s)) refusals.push(twice(e.path));
      } else if (s.isDirectory() && !seen.has(real)) {
        dirs.add(path);
        refusals.push(...(await walkDirectory(real, path, files, dirs, check, new Set([...seen, real]))));
      }
    }
  }
  return refusals;
}

/** Above this size a file is hashed as a stream on hasha's worker thread instead of read whole. */
const STREAM_HASH_BYTES = 4 * 1024 * 1024;

/** Small files, the usual case, are hashed in this thread: a worker round trip costs more. */
async function hashContent(f: VisibleFile): Promise<string> {
  if (f.size > STREAM_HASH_BYTES) return hashFile(f.source, { algorithm: 'sha256' });
  return hashSync(readFileSync(f.source), { algorithm: 'sha256' });
}

interface StatCacheEntry {
  size: number;
  mtimeMs: number;
  ino: number;
  hash: string;
}

/**
 * Fills in content hashes. A file whose real path, size, mtime and inode match the stat cache is
 * not read again. `persist` is false for `plan`, which must not write.
 */
export async function hashInventory(
  inventory: Inventory,
  statCacheFile: string,
  persist: boolean,
): Promise<void> {
  const cache = (await readJsonOrUndefined<Record<string, StatCacheEntry>>(statCacheFile)) ?? {};
  let changed = false;
  const next: Record<string, StatCacheEntry> = {};
  // Bounded parallelism: the reads of the next files overlap the hashing of this one.
  let i = 0;
  const worker = async () => {
    for (let f = inventory.files[i++]; f; f = inventory.files[i++]) {
      const hit = cache[f.source];
      if (hit && hit.size === f.size && hit.mtimeMs === f.mtimeMs && hit.ino === f.ino) {
        f.hash = hit.hash;
      } else {
        f.hash = await hashContent(f);
        changed = true;
      }
      next[f.source] = { size: f.size, mtimeMs: f.mtimeMs, ino: f.ino, hash: f.hash };
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  if (persist && (changed || Object.keys(cache).length !== Object.keys(next).length)) {
    await writeJsonAtomic(statCacheFile, next);
  }
}

/** The seed's key parameters: every visible path with its mode and content hash, sorted. */
export function inventoryKeyParams(inventory: Inventory): {
  dirs: string[];
  files: [string, number, string][];
} {
  return {
    dirs: inventory.dirs,
    files: inventory.files.map((f) => [f.path, f.mode, f.hash ?? '']),
  };
}
