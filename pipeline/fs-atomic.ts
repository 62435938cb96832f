import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { listTree } from './copy-tree.js';
import { errnoCode } from './errors.js';
import { eachAtMost } from './pool.js';
import type { Redactor } from './redact.js';

/** A unique name for a temp file beside `path`, so the final rename stays on one filesystem. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

export interface WriteOptions {
  /** Masks the token in what is written. */
  redactor?: Redactor;
  /**
   * fsync before the rename (default), so the new content survives a power loss. Files that only
   * matter while this process lives (running markers) skip it: they need atomicity, not durability.
   */
  durable?: boolean;
}

/**
 * Writes a file so that readers see either the old content or the whole new content, never a
 * part: write a temp file beside it, fsync, rename. On any error (a full disk, say) the temp file
 * is removed and the old file is untouched.
 */
export async function writeFileAtomic(
  path: string,
  content: string | Buffer,
  { redactor, durable = true }: WriteOptions = {},
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  try {
    await writeFileRedacted(temp, content, redactor);
    if (durable) await fsyncPath(temp);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export async function writeJsonAtomic(path: string, value: unknown, options?: WriteOptions): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, options);
}

/** Creates `path` (which must not exist yet) with the token masked in `content`. */
export async function writeFileRedacted(
  path: string,
  content: string | Buffer,
  redactor: Redactor | undefined,
): Promise<void> {
  const data = typeof content === 'string' ? Buffer.from(content) : content;
  await writeFile(path, redactor ? redactor.redactBuffer(data) : data, { flag: 'wx', mode: 0o644 });
}

/**
 * fsync of every file and directory under `root`, many at once: the filesystem folds concurrent
 * fsyncs into few journal commits. What a later rename publishes is then on disk in full.
 */
export async function syncTree(root: string): Promise<void> {
  const paths = [
    root,
    ...(await listTree(root)).filter((e) => e.type !== 'symlink').map((e) => join(root, e.path)),
  ];
  await eachAtMost(PARALLEL_SYNCS, paths, fsyncPath);
}

const PARALLEL_SYNCS = 32;

/** fsync of one file or directory. */
export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Whether something exists at `path` (without following a final symlink). */
export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || errnoCode(error) === 'ENOTDIR') return false;
    throw error;
  }
}
