import type { Stats } from 'node:fs';
import { lstat, mkdir, readlink, rename, rm, rmdir, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes, type LeftOut, type TreeEntry } from './copy-tree.js';
import { errnoCode } from './errors.js';
import { copyOneFile, streamCopy } from './file-copy.js';
import { eachAtMost } from './pool.js';
import type { Redactor } from './redact.js';

/** One entry of the source tree and the path it takes in the new one. */
export interface Placement {
  entry: TreeEntry;
  to: string;
}

export interface TransferOptions {
  from: string;
  to: string;
  /** A file holding a token is written masked (a copy: the rename would take the token along). */
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
  /**
   * Source paths of the entries still in `from`: what was not collected, the directories that
   * hold it, and an original a copy was made of that could not be removed (in a directory the
   * agent made read-only, say).
   */
  remaining: Set<string>;
  /** How many files had to be copied after all (see COPY_INSTEAD and `nlink`). */
  copied: number;
}

/**
 * What rename(2) fails with where the copy can still be made: the workspace on another filesystem
 * than the staging directory (a tmpfs /tmp), or another filesystem mounted inside it; an entry of
 * a sticky directory that someone else owns (written by a container, say), a directory we may not
 * re-parent (rename needs write access to it); a target directory at its link limit.
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
  /** A rename. */
  | { kind: 'plain' }
  /** Over maxFileSize: stays behind. */
  | { kind: 'over'; why: string }
  /** A copy: it holds a token (masked in the copy), or shares its data with another name. */
  | { kind: 'copy'; stats: Stats; mask: boolean }
  /** A symlink whose target holds a token: made anew, masked. */
  | { kind: 'relink'; target: Buffer };

const PARALLEL = 32;

const parentOf = (path: string) => path.slice(0, Math.max(0, path.lastIndexOf('/')));
const baseOf = (path: string) => path.slice(path.lastIndexOf('/') + 1);

/** `path` and each of its ancestors but the root, nearest first. */
function* upwards(path: string): Generator<string> {
  for (let p = path; p; p = parentOf(p)) yield p;
}

/**
 * Moves `placements` to their new paths under `to` by renames: one metadata operation an entry,
 * or a directory with all under it when nothing in it needs more, instead of a copy of its data.
 * What a rename cannot take is copied, entry by entry, and its original then removed: a file
 * holding a token (the copy masked); a file with more than one name, which may be a link to a file
 * outside the tree (an agent's `ln ~/.ssh/id_rsa`): moved, the new tree would share it with that
 * file; what lies on another filesystem, the source's own or one mounted in it; and whatever the
 * kernel refuses to rename (COPY_INSTEAD). Files over maxFileSize stay behind, and so does what
 * the listing could not take (`stays`), with the directories that hold it; a directory emptied by
 * the move is removed. So `from` keeps only what was not collected, and nothing of it is shared
 * with the new tree: a change made to what stays cannot reach it.
 *
 * A failure half-way puts back what was moved, so the source is whole again (no original is
 * removed before all is in place).
 */
export async function transferEntries(
  placements: readonly Placement[],
  { from, to, redactor, maxFileSize, stays }: TransferOptions,
): Promise<Transferred> {
  const needs = new Map<string, Need>();
  /** Directories of another filesystem mounted in the tree: a rename would take the mount along. */
  const mounted = new Set<string>();
  const { dev } = await lstat(from);
  await eachAtMost(PARALLEL, placements, async ({ entry }) => {
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
      if (!split.has(entry.path)) {
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
    await eachAtMost(PARALLEL, placements, async ({ entry, to: dest }) => {
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
      } else {
        try {
          await move(src, target);
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
  await removeTaken(from, placements, needs, result.remaining);
  result.redacted.sort();
  result.leftOut.sort((a, b) => (a.path < b.path ? -1 : 1));
  return result;
}

/**
 * Removes from `from` what was copied rather than moved (now in the new tree), then the
 * directories that left empty, deepest first; `remaining` keeps what could not be removed.
 */
async function removeTaken(
  from: string,
  placements: readonly Placement[],
  needs: ReadonlyMap<string, Need>,
  remaining: Set<string>,
): Promise<void> {
  /** Removes one entry, or leaves it in `remaining` (a directory not empty, a read-only parent). */
  const remove = async (path: string, how: (p: string) => Promise<void>) => {
    if (
      await how(join(from, path)).then(
        () => true,
        () => false,
      )
    )
      remaining.delete(path);
  };
  const taken = placements.filter(
    ({ entry }) =>
      entry.type !== 'dir' && remaining.has(entry.path) && needs.get(entry.path)?.kind !== 'over',
  );
  await eachAtMost(PARALLEL, taken, ({ entry }) => remove(entry.path, rm));
  const dirs = placements.filter(({ entry }) => entry.type === 'dir' && remaining.has(entry.path));
  for (const { entry } of dirs.sort((a, b) => (a.entry.path < b.entry.path ? 1 : -1)))
    await remove(entry.path, rmdir);
}

/** What a file needs beyond a rename (see Need), from its lstat and its contents. */
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
  // Another name may be outside the tree; another filesystem mounted in it would refuse the rename.
  if (stats.nlink > 1 || stats.dev !== dev) return { kind: 'copy', stats, mask: false };
  return { kind: 'plain' };
}
