import type { Stats } from 'node:fs';
import { link, lstat, mkdir, readlink, rename, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes, type LeftOut, type TreeEntry } from './copy-tree.js';
import { errnoCode } from './errors.js';
import { copyOneFile, streamCopy } from './file-copy.js';
import type { Redactor } from './redact.js';

/**
 * How a tree's entries reach a directory on the same filesystem without their data being copied:
 * - `link`: every file is hard-linked, so the source tree stays whole, its files shared with the
 *   new tree (the same file under two names: a change made through one is seen through both);
 * - `move`: every entry is renamed (a directory at once, with all under it, when nothing in it
 *   needs more than a rename), so the source keeps only what was not taken.
 */
export type Transfer = 'link' | 'move';

/** One entry of the source tree and the path it takes in the new one. */
export interface Placement {
  entry: TreeEntry;
  to: string;
}

export interface TransferOptions {
  from: string;
  to: string;
  how: Transfer;
  /** A file holding a token is written masked (a copy, never a link), its original left in `from`. */
  redactor: Redactor;
  /** Files larger than this many bytes stay in `from`, returned in `leftOut`. */
  maxFileSize: number;
  /** Paths the listing could not take (sockets, names that are not UTF-8, unreadable directories): they stay too. */
  stays: readonly string[];
}

export interface Transferred {
  /** New paths of the files written with a token masked. */
  redacted: string[];
  /** Files left in `from` because they exceed maxFileSize, by their new paths. */
  leftOut: LeftOut[];
  /** Source paths of the entries still in `from` (all of them, for `link`). */
  remaining: Set<string>;
  /** How many files had to be copied after all (see COPY_INSTEAD and `nlink`). */
  copied: number;
}

/**
 * What link(2) or rename(2) fails with where the copy can still be made: another filesystem
 * mounted inside the tree, a filesystem without hard links, a file at its link limit, one the
 * kernel will not link for us (fs.protected_hardlinks: a file someone else owns, written by a
 * container, say), a directory we may not re-parent (rename needs write access to it).
 */
const COPY_INSTEAD = new Set([
  'EXDEV',
  'EPERM',
  'EACCES',
  'EMLINK',
  'ENOTSUP',
  'EOPNOTSUPP',
  'ENOSYS',
  'EBUSY',
]);

/** What a file or link of the tree needs. */
type Need =
  /** A link or a rename. */
  | { kind: 'plain' }
  /** Over maxFileSize: stays behind. */
  | { kind: 'over'; why: string }
  /** A copy: it holds a token (masked in the copy), or shares its data with another name. */
  | { kind: 'copy'; stats: Stats; mask: boolean }
  /** A symlink whose target holds a token: made anew, masked. */
  | { kind: 'relink'; target: Buffer };

const PARALLEL = 32;

/**
 * Runs `each` over `items`, PARALLEL at a time. After a failure no item more is started, and the
 * failure is thrown once those running have ended: nothing moves after it is known.
 */
async function pool<T>(items: readonly T[], each: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  let failed: { error: unknown } | undefined;
  const worker = async () => {
    for (let i = next++; i < items.length && !failed; i = next++) {
      try {
        await each(items[i]!);
      } catch (error) {
        failed ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, items.length) }, worker));
  if (failed) throw failed.error;
}

const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf('/')));
const baseOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** `path` and each of its ancestors but the root, nearest first. */
function* upwards(path: string): Generator<string> {
  for (let p = path; p; p = parentOf(p)) yield p;
}

/**
 * Gives `placements` their new paths under `to` by hard links or renames (see Transfer): one
 * metadata operation an entry, or a directory, instead of a copy of its data. What a rename or
 * link cannot take is copied, entry by entry: a file holding a token (the copy masked, the
 * original left where it was, for the caller to scrub); a file with more than one name, which
 * may be a link to a file outside the tree (an agent's `ln ~/.ssh/id_rsa`): linked or moved, the
 * new tree would share it with that file; what lies on another filesystem mounted in the tree;
 * and whatever the kernel refuses to link or rename (COPY_INSTEAD). Files over maxFileSize stay
 * behind, and so does what the listing could not take (`stays`), with the directories that hold
 * it.
 *
 * `move` that fails half-way puts back what it moved, so the source is whole again.
 */
export async function transferEntries(
  placements: readonly Placement[],
  { from, to, how, redactor, maxFileSize, stays }: TransferOptions,
): Promise<Transferred> {
  const needs = new Map<string, Need>();
  /** Directories of another filesystem mounted in the tree: a rename would take the mount along. */
  const mounted = new Set<string>();
  const { dev } = await lstat(from);
  await pool(placements, async ({ entry }) => {
    const src = join(from, entry.path);
    if (entry.type === 'symlink') {
      const target = await readlink(src, { encoding: 'buffer' });
      if (redactor.contains(target)) needs.set(entry.path, { kind: 'relink', target });
    } else if (entry.type === 'file') {
      const need = await fileNeed(src, dev, redactor, maxFileSize);
      if (need.kind !== 'plain') needs.set(entry.path, need);
    } else if ((await lstat(src)).dev !== dev) mounted.add(entry.path);
  });
  // A directory moves at once only if all under it would land where that puts it, nothing stays.
  const split = new Set<string>([...stays, ...mounted]);
  const splitAbove = (path: string) => {
    for (const p of upwards(parentOf(path))) split.add(p);
  };
  for (const path of split) splitAbove(path);
  for (const { entry, to: dest } of placements)
    if (needs.has(entry.path) || baseOf(dest) !== baseOf(entry.path)) splitAbove(entry.path);
  const result: Transferred = { redacted: [], leftOut: [], remaining: new Set(), copied: 0 };
  const moves: [from: string, to: string][] = [];
  const movedDirs = new Set<string>();
  const insideMoved = (path: string) => {
    for (const p of upwards(parentOf(path))) if (movedDirs.has(p)) return true;
    return false;
  };
  const move = async (src: string, dest: string) => {
    await rename(src, dest);
    moves.push([src, dest]);
  };
  try {
    await mkdir(to, { recursive: true });
    // Directories first, parents before children: made, or moved whole.
    const dirs = placements.filter((p) => p.entry.type === 'dir');
    for (const { entry, to: dest } of dirs.sort((a, b) => (a.entry.path < b.entry.path ? -1 : 1))) {
      if (insideMoved(entry.path)) continue;
      if (how === 'move' && !split.has(entry.path)) {
        try {
          await move(join(from, entry.path), join(to, dest));
          movedDirs.add(entry.path);
          continue;
        } catch (error) {
          if (!COPY_INSTEAD.has(errnoCode(error) ?? '')) throw error;
          // Made here instead, and what is in it taken one by one.
        }
      }
      await mkdir(join(to, dest));
      result.remaining.add(entry.path);
    }
    await pool(placements, async ({ entry, to: dest }) => {
      if (entry.type === 'dir' || insideMoved(entry.path)) return;
      const src = join(from, entry.path);
      const target = join(to, dest);
      const need = needs.get(entry.path) ?? { kind: 'plain' };
      if (need.kind === 'over') {
        result.leftOut.push({ path: dest, why: need.why });
      } else if (need.kind === 'copy') {
        const masked = need.mask
          ? await streamCopy(src, target, need.stats, redactor)
          : await copyOneFile(src, target, need.stats);
        if (masked) result.redacted.push(dest);
        result.copied++;
      } else if (need.kind === 'relink') {
        await symlink(redactor.redactBuffer(need.target), target);
      } else if (entry.type === 'symlink' && how === 'link') {
        await symlink(await readlink(src, { encoding: 'buffer' }), target);
      } else {
        try {
          await (how === 'move' ? move(src, target) : link(src, target));
          return;
        } catch (error) {
          if (!COPY_INSTEAD.has(errnoCode(error) ?? '')) throw error;
        }
        if (entry.type === 'symlink') await symlink(await readlink(src, { encoding: 'buffer' }), target);
        else await copyOneFile(src, target, await lstat(src));
        result.copied++;
      }
      result.remaining.add(entry.path);
    });
  } catch (error) {
    // Back where they were, latest first, so that each finds its parent.
    for (const [back, moved] of moves.reverse()) await rename(moved, back).catch(() => undefined);
    throw error;
  }
  if (how === 'link') for (const { entry } of placements) result.remaining.add(entry.path);
  result.redacted.sort();
  result.leftOut.sort((a, b) => (a.path < b.path ? -1 : 1));
  return result;
}

/** What a file needs beyond a link or a rename (see Need), from its lstat and its contents. */
async function fileNeed(src: string, dev: number, redactor: Redactor, maxFileSize: number): Promise<Need> {
  const stats = await lstat(src);
  if (stats.size > maxFileSize) {
    return {
      kind: 'over',
      why: `${formatBytes(stats.size)}, over the ${formatBytes(maxFileSize)} cap (collect.maxFileSize)`,
    };
  }
  // No longer a plain file since the listing (no harness runs now, so hardly): copied as copyEntries would.
  if (!stats.isFile()) return { kind: 'copy', stats: await stat(src), mask: redactor.active };
  if (redactor.active && (await redactor.fileContains(src))) return { kind: 'copy', stats, mask: true };
  // Another name may be outside the tree; another filesystem would refuse the link or rename.
  if (stats.nlink > 1 || stats.dev !== dev) return { kind: 'copy', stats, mask: false };
  return { kind: 'plain' };
}
