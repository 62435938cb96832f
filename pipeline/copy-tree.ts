import { constants, type Dirent } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, readlink, rename, stat, symlink, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { errnoCode } from './errors.js';
import { copyOneFile } from './file-copy.js';
import { eachAtMost } from './pool.js';
import type { Redactor } from './redact.js';

/** One entry of a directory tree, by path relative to its root (`/` separators). */
export type TreeEntry =
  | { type: 'dir'; path: string }
  | { type: 'file'; path: string; mode?: number; from?: string }
  | { type: 'symlink'; path: string; from?: string };

/** An entry a listing or a copy did not take, and why, for the run-log to name. */
export interface LeftOut {
  path: string;
  why: string;
}

/** A tree as listed: what can be copied, and what cannot. */
export interface Listing {
  entries: TreeEntry[];
  leftOut: LeftOut[];
}

/** How many copies are in flight at once; the kernel does the copying, so this hides latency. */
const PARALLEL_COPIES = 32;

/** What an entry that is neither a file, a directory nor a symlink is, in words. */
function specialKind(d: Dirent<Buffer>): string {
  if (d.isSocket()) return 'a socket';
  if (d.isFIFO()) return 'a FIFO';
  if (d.isBlockDevice()) return 'a block device';
  if (d.isCharacterDevice()) return 'a character device';
  return 'of an unknown type';
}

const childPath = (parent: string, name: string) => (parent ? `${parent}/${name}` : name);

/**
 * Lists a tree without following symlinks, sorted by path. Every name is taken as it is (newlines,
 * U+2028 and all); what cannot be copied (sockets, FIFOs, devices, a name that is not UTF-8 and
 * so cannot be spelled as a path here, a directory that cannot be read) is named in `leftOut`.
 */
export async function walkTree(root: string): Promise<Listing> {
  const entries: TreeEntry[] = [];
  const leftOut: LeftOut[] = [];
  const walk = async (dir: string): Promise<void> => {
    let found: Dirent<Buffer>[];
    try {
      found = await readdir(dir ? join(root, dir) : root, { withFileTypes: true, encoding: 'buffer' });
    } catch (error) {
      if (!dir) throw error;
      leftOut.push({ path: dir, why: `its contents could not be read (${errnoCode(error) ?? error})` });
      return;
    }
    const subdirs: string[] = [];
    for (const d of found) {
      const name = d.name.toString();
      const path = childPath(dir, name);
      if (!Buffer.from(name).equals(d.name)) {
        const what = d.isDirectory() ? 'a directory whose name' : 'its name';
        leftOut.push({ path, why: `${what} is not valid UTF-8` });
      } else if (d.isDirectory()) {
        entries.push({ type: 'dir', path });
        subdirs.push(path);
      } else if (d.isFile()) entries.push({ type: 'file', path });
      else if (d.isSymbolicLink()) entries.push({ type: 'symlink', path });
      else leftOut.push({ path, why: `${specialKind(d)}; only files, directories and symlinks are copied` });
    }
    await Promise.all(subdirs.map(walk));
  };
  await walk('');
  const byPath = (a: { path: string }, b: { path: string }) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
  return { entries: entries.sort(byPath), leftOut: leftOut.sort(byPath) };
}

/** The entries of a tree that can be copied; see walkTree for what is left out. */
export async function listTree(root: string): Promise<TreeEntry[]> {
  return (await walkTree(root)).entries;
}

export interface CopyOptions {
  /** Source root for entries without their own `from`. */
  from: string;
  to: string;
  /** When given, files holding a secret are written with the secret masked; their paths are returned. */
  redactor?: Redactor;
  /** Files larger than this many bytes are not copied but returned in `leftOut`. */
  maxFileSize?: number;
}

export interface Copied {
  /** Paths (in `to`) of the files written with a token masked. */
  redacted: string[];
  /** Files not copied because they exceed `maxFileSize`. */
  leftOut: LeftOut[];
}

/** `3221225472` -> `3.0 GiB`. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let unit = 0;
  for (; n >= 1024 && unit < units.length - 1; unit++) n /= 1024;
  return unit === 0 ? `${n} bytes` : `${n.toFixed(1)} ${units[unit]}`;
}

/**
 * Copies entries into `to`: directories first, then files in parallel (see copyOneFile: clones
 * where the filesystem supports them, holes kept, memory bounded), then symlinks as symlinks
 * (never followed, so a link an agent made to a host file copies as a link).
 */
export async function copyEntries(entries: readonly TreeEntry[], options: CopyOptions): Promise<Copied> {
  const { from, to, redactor, maxFileSize } = options;
  await mkdir(to, { recursive: true });
  const dirs = entries.filter((e) => e.type === 'dir').map((e) => e.path);
  // Sorted, parents come before children, so each mkdir needs no recursion.
  for (const d of dirs.sort()) await mkdir(join(to, d), { recursive: true });
  const files = entries.filter((e) => e.type === 'file');
  const copied: Copied = { redacted: [], leftOut: [] };
  await eachAtMost(PARALLEL_COPIES, files, async (f) => {
    const src = f.from ?? join(from, f.path);
    const dest = join(to, f.path);
    if (!redactor && maxFileSize === undefined) {
      // A template or a workspace from one: the benchmark's own files, hashed whole already.
      // The kernel's copy alone; a stat more per file would slow seeding measurably.
      await copyFile(src, dest, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
    } else {
      // Followed, as copyFile does.
      const stats = await stat(src);
      if (maxFileSize !== undefined && stats.size > maxFileSize) {
        const why = `${formatBytes(stats.size)}, over the ${formatBytes(maxFileSize)} cap (collect.maxFileSize)`;
        copied.leftOut.push({ path: f.path, why });
        return;
      }
      if (await copyOneFile(src, dest, stats, redactor)) copied.redacted.push(f.path);
    }
    if (f.mode !== undefined) await chmod(dest, f.mode);
  });
  for (const l of entries) {
    if (l.type === 'symlink') {
      // As bytes: a target need not be UTF-8.
      const target = await readlink(l.from ?? join(from, l.path), { encoding: 'buffer' });
      await symlink(redactor ? redactor.redactBuffer(target) : target, join(to, l.path));
    }
  }
  copied.redacted.sort();
  copied.leftOut.sort((a, b) => (a.path < b.path ? -1 : 1));
  return copied;
}

/**
 * Where each entry goes once the token is masked in names: `path -> new path` for every entry
 * whose name, or a parent's, held a token. A masked name that another entry already has gets a
 * `-2` (and so on), checked against the names both before and after masking, so neither the copy
 * nor a rename in place can overwrite anything.
 */
export function maskedPaths(entries: readonly TreeEntry[], redactor: Redactor): Map<string, string> {
  const moved = new Map<string, string>();
  if (!redactor.active) return moved;
  const taken = new Set(entries.map((e) => e.path));
  // Sorted, parents come before children, so a child goes under its parent's new path.
  for (const { path } of [...entries].sort((a, b) => (a.path < b.path ? -1 : 1))) {
    const cut = path.lastIndexOf('/');
    const parent = cut === -1 ? '' : path.slice(0, cut);
    const name = path.slice(cut + 1);
    const newParent = moved.get(parent) ?? parent;
    const masked = redactor.redact(name);
    if (masked === name && newParent === parent) continue;
    let to = childPath(newParent, masked);
    if (masked !== name) {
      const free = (n: string) => !taken.has(childPath(newParent, n)) && !taken.has(childPath(parent, n));
      let candidate = masked;
      for (let n = 2; !free(candidate); n++) candidate = `${masked}-${n}`;
      to = childPath(newParent, candidate);
    }
    taken.add(to);
    moved.set(path, to);
  }
  return moved;
}

/** The new paths of the entries whose own name was masked (not only a parent's). */
export function maskedNames(moved: ReadonlyMap<string, string>): string[] {
  const base = (p: string) => p.slice(p.lastIndexOf('/') + 1);
  return [...moved].filter(([from, to]) => base(from) !== base(to)).map(([, to]) => to);
}

/**
 * Masks the token in a tree where it lies: the contents of `files` (same length, see
 * Redactor.scrubFile), every symlink target, and every name (renamed in place, to the names
 * maskedPaths gave, deepest first so each rename finds its parent where it was).
 */
export async function scrubInPlace(
  root: string,
  tree: { entries: readonly TreeEntry[]; moved: ReadonlyMap<string, string>; files: Iterable<string> },
  redactor: Redactor,
): Promise<void> {
  if (!redactor.active) return;
  for (const path of tree.files) await redactor.scrubFile(join(root, path));
  for (const e of tree.entries) {
    if (e.type !== 'symlink') continue;
    const link = join(root, e.path);
    const target = await readlink(link, { encoding: 'buffer' });
    if (!redactor.contains(target)) continue;
    await unlink(link);
    await symlink(redactor.redactBuffer(target), link);
  }
  const depth = (p: string) => p.split('/').length;
  const renames = [...tree.moved].sort(([a], [b]) => depth(b) - depth(a));
  for (const [from, to] of renames) {
    const name = to.slice(to.lastIndexOf('/') + 1);
    const cut = from.lastIndexOf('/');
    if (from.slice(cut + 1) === name) continue;
    await rename(join(root, from), join(root, childPath(cut === -1 ? '' : from.slice(0, cut), name)));
  }
}

/** scrubInPlace over a whole tree (a CLI's home, say): every file's contents, link and name. */
export async function scrubTree(root: string, redactor: Redactor): Promise<void> {
  if (!redactor.active) return;
  const { entries } = await walkTree(root);
  const files = entries.filter((e) => e.type === 'file').map((e) => e.path);
  await scrubInPlace(root, { entries, moved: maskedPaths(entries, redactor), files }, redactor);
}
