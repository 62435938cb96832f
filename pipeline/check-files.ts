import { createHash } from 'node:crypto';
import { constants, type Dirent, type Stats } from 'node:fs';
import { type FileHandle, lstat, open, readdir, realpath } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, sep } from 'node:path';
import { type Diagnostic, errnoCode } from './errors.js';
import { LOCK_FILE } from './lock.js';
import { type Benchmark, type Check, MANIFEST_FILE } from './manifest.js';
import { eachAtMost } from './pool.js';
import { contains, outside, scanVisibleFiles } from './visible-files.js';

/**
 * The evaluator-only files of a check (`scoring.checks[i].files`): what `score` copies into the
 * scoring workspace and what the check's cache key is made of. They are taken exactly as they lie
 * in the package, never through a link, so that what is hashed is what is copied.
 */

/** One file a check receives, at the same relative path in the scoring workspace. */
export interface CheckFile {
  /** Relative to the package directory, with `/` separators. */
  path: string;
  /** The permission bits (`stat.mode & 0o777`): a hidden test script may be run directly. */
  mode: number;
  /** sha256 (hex) of the content: the check's key changes when a hidden test does. */
  hash: string;
}

type Located = Diagnostic & { code: string };

/** The entry, or a file in it, names nothing a check can take. */
const MISSING = 'check-file-missing';
/** The entry leads out of the package, through a link, or to the tool's own files. */
const ESCAPES = 'check-file-escapes';
/** The entry is, holds or lies in something the model sees. */
const VISIBLE = 'check-file-visible';

/**
 * The package's paths that no check may take: the tool's configuration and pin, and the outputs
 * of attempts, of scoring (which is what the check is making) and of the engine. The scorecard and
 * baseline-manifest.md, never shown to an attempt, are allowed: a check is evaluator-side, so
 * reading them leaks nothing.
 */
const TOOL_PATHS = [MANIFEST_FILE, LOCK_FILE, 'eval-attempts', 'eval-results', '.pipeline'];

/** A problem with one file inside a listed directory, said after `"<entry>" contains `. */
interface Refusal {
  text: string;
  code: string;
}

/** A regular file found for the check, as lstat saw it. */
interface Found {
  rel: string;
  abs: string;
  stats: Stats;
}

const toPosix = (p: string) => p.split(sep).join('/');
const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Every regular file that the `files` entries of `check` (the one at `scoring.checks[index]`)
 * name, a directory standing for every file below it, sorted by path and each once. Each problem
 * is a diagnostic located at its `files[j]` entry; a refused file is left out of `files`, so a
 * check with any diagnostic must not be run.
 */
export async function checkFiles(
  bench: Benchmark,
  check: Check,
  index: number,
): Promise<{ files: CheckFile[]; diagnostics: Located[] }> {
  if (!check.files.length) return { files: [], diagnostics: [] };
  const benchReal = await realpath(bench.dir);
  const visible = await visibleShape(bench, benchReal);
  const diagnostics: Located[] = [];
  const found = new Map<string, Found>();

  for (const [j, entry] of check.files.entries()) {
    const problem = (message: string, code: string) =>
      diagnostics.push({
        ...bench.source.diagnostic(['scoring', 'checks', index, 'files', j], message, code),
        code,
      });
    const named = await nameEntry(benchReal, entry);
    if ('refuse' in named) {
      problem(`"${entry}" ${named.refuse}`, named.code);
      continue;
    }
    const overlap = visible.overlap(named.abs);
    if (overlap) {
      problem(`"${entry}" ${overlap}: a check file must be hidden from the model`, VISIBLE);
      continue;
    }
    const candidates: Found[] = [];
    const refusals: Refusal[] = [];
    if (named.stats.isFile()) candidates.push(named);
    else if (named.stats.isDirectory()) await walk(named.abs, named.rel, candidates, refusals);
    else {
      problem(`"${entry}" is neither a file nor a directory`, MISSING);
      continue;
    }
    for (const f of candidates) {
      const seen = visible.file(f);
      if (seen === undefined) found.set(f.rel, f);
      else if (f === named)
        problem(`"${entry}" is ${seen}: a check file must be hidden from the model`, VISIBLE);
      else
        refusals.push({
          text: `${f.rel}, ${seen}: a check file must be hidden from the model`,
          code: VISIBLE,
        });
    }
    for (const r of refusals) problem(`"${entry}" contains ${r.text}`, r.code);
  }

  const sorted = [...found.values()].sort((a, b) => byName(a.rel, b.rel));
  const files: CheckFile[] = new Array(sorted.length);
  // Bounded parallelism: the reads of the next files overlap the hashing of this one.
  await eachAtMost(8, [...sorted.keys()], async (i) => {
    files[i] = await describeFile(sorted[i]!);
  });
  return { files, diagnostics };
}

/**
 * One entry as written: checked by name, then every step down from the package lstat'ed, so that
 * a link anywhere on the way (the entry itself included) is refused rather than followed.
 */
async function nameEntry(
  benchReal: string,
  entry: string,
): Promise<Found | { refuse: string; code: string }> {
  if (isAbsolute(entry))
    return { refuse: 'is an absolute path; check files are in the package', code: ESCAPES };
  // `hidden-tests/` and `./` name what `hidden-tests` and `.` do.
  const rel = normalize(entry).replace(/(.)\/+$/, '$1');
  if (outside(rel)) return { refuse: 'leads outside the package', code: ESCAPES };
  if (rel === '.')
    return { refuse: 'is the whole package, which holds runner.yaml and the outputs', code: ESCAPES };
  const first = rel.split(sep)[0]!.toLowerCase();
  const tool = TOOL_PATHS.find((p) => p === first);
  if (tool) return { refuse: `names ${tool}, which is the tool's own, never a check file`, code: ESCAPES };
  let abs = benchReal;
  let stats: Stats | undefined;
  for (const segment of rel.split(sep)) {
    abs = join(abs, segment);
    stats = await lstatOrMissing(abs);
    if (!stats) return { refuse: 'does not exist', code: MISSING };
    if (stats.isSymbolicLink()) {
      const link = toPosix(relative(benchReal, abs));
      const what = link === toPosix(rel) ? 'is a symlink' : `goes through the symlink ${link}`;
      return { refuse: `${what}; check files are never taken through a link`, code: ESCAPES };
    }
  }
  return { rel: toPosix(rel), abs, stats: stats! };
}

async function lstatOrMissing(abs: string): Promise<Stats | undefined> {
  try {
    return await lstat(abs);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw error;
  }
}

/**
 * Every regular file below `abs` (at package path `rel`), in name order, by readdir's entry types,
 * which never follow a link. A link, or anything that is neither a file nor a directory, is a
 * refusal: nothing is skipped silently.
 */
async function walk(abs: string, rel: string, out: Found[], refusals: Refusal[]): Promise<void> {
  let names: Dirent[];
  try {
    names = await readdir(abs, { withFileTypes: true });
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw error;
    refusals.push(unreadable(rel));
    return;
  }
  for (const d of names.sort((a, b) => byName(a.name, b.name))) {
    const [childAbs, childRel] = [join(abs, d.name), `${rel}/${d.name}`];
    if (d.isSymbolicLink()) {
      refusals.push({
        text: `the symlink ${childRel}; check files are never taken through a link`,
        code: ESCAPES,
      });
    } else if (d.isDirectory()) {
      await walk(childAbs, childRel, out, refusals);
    } else if (d.isFile()) {
      const stats = await lstatOrMissing(childAbs);
      if (stats?.isFile()) out.push({ rel: childRel, abs: childAbs, stats });
      else if (!stats) refusals.push(unreadable(childRel));
      else refusals.push({ text: `${childRel}, which changed while it was read`, code: MISSING });
    } else {
      refusals.push({
        text: `${childRel}, which is neither a file, a directory nor a symlink`,
        code: MISSING,
      });
    }
  }
}

/**
 * A listed name that is not there when read by its name. A name that is not valid UTF-8 reads
 * back with U+FFFD in place of its bytes and so names nothing; say so.
 */
function unreadable(rel: string): Refusal {
  return rel.includes('\uFFFD')
    ? { text: `a name that is not valid UTF-8, which cannot be copied by name: ${rel}`, code: MISSING }
    : { text: `${rel}, which disappeared while it was read`, code: MISSING };
}

/**
 * What the model sees, by real path: the visible entries (each inside the package), and every
 * file an attempt's workspace receives, with where it lands there. A visible link into a hidden
 * directory, or a visible hard link to a hidden file, would show the model that file.
 */
async function visibleShape(bench: Benchmark, benchReal: string) {
  const entries: { entry: string; real: string }[] = [];
  for (const entry of bench.manifest.model_visible_files) {
    const rel = normalize(entry);
    if (isAbsolute(rel) || outside(rel)) continue;
    const real = await realpath(join(bench.dir, rel)).catch(() => undefined);
    // The preflight refuses an entry that is the package or leads out of it; it shows nothing.
    if (real && real !== benchReal && contains(benchReal, real)) entries.push({ entry, real });
  }
  const { inventory } = await scanVisibleFiles(bench);
  const sources = new Map(inventory.files.map((f) => [f.source, f.path]));
  // A hard link shares the inode, so its size and mtime too; together they do not meet by chance.
  const sameInode = (s: { ino: number; size: number; mtimeMs: number }) => `${s.ino}:${s.size}:${s.mtimeMs}`;
  const inodes = new Map(inventory.files.map((f) => [sameInode(f), f.path]));
  return {
    /** How the entry at `abs` meets a visible entry, if it does. */
    overlap(abs: string): string | undefined {
      for (const v of entries) {
        if (v.real === abs) return `is the model-visible "${v.entry}"`;
        if (contains(v.real, abs)) return `lies inside the model-visible "${v.entry}"`;
        if (contains(abs, v.real)) return `contains the model-visible "${v.entry}"`;
      }
      return undefined;
    },
    /** How the model sees this file by another name, if it does. */
    file(f: Found): string | undefined {
      const seen = sources.get(f.abs);
      if (seen !== undefined) return `seen by the model as ${seen}`;
      const linked = f.stats.nlink > 1 ? inodes.get(sameInode(f.stats)) : undefined;
      return linked === undefined ? undefined : `a hard link to the model-visible ${linked}`;
    },
  };
}

/**
 * The file's mode and content hash, read through one handle opened without following a link, so
 * both come from the file that was lstat'ed. It is hashed as it is read, in chunks: hidden test
 * data may be large, and keys.ts's `sha256` wants the whole content at once.
 */
async function describeFile(f: Found): Promise<CheckFile> {
  // O_NONBLOCK: should a FIFO have taken the file's place, opening it must not wait for a writer.
  const handle = await open(f.abs, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new Error(`${f.rel} changed while it was read: it is no longer a file`);
    return { path: f.rel, mode: stats.mode & 0o777, hash: await hashOf(handle, stats.size) };
  } finally {
    await handle.close();
  }
}

/** `size` only sizes the buffer (a small file is read in one go); the end is where a read gives 0. */
async function hashOf(handle: FileHandle, size: number): Promise<string> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(Math.min(size + 1, 1 << 20));
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
    if (bytesRead === 0) return hash.digest('hex');
    hash.update(buffer.subarray(0, bytesRead));
  }
}
