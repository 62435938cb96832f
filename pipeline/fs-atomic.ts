import { randomBytes } from 'node:crypto';
import { lstat, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode } from './errors.js';
import type { Redactor } from './redact.js';

/** A unique name for a temp file beside `path`, so the final rename stays on one filesystem. */
export function tempPathFor(path: string): string {
  return join(dirname(path), `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
}

/**
 * Writes a file so that readers see either the old content or the whole new content, never a
 * part: write a temp file beside it, fsync, rename. On any error (a full disk, say) the temp file
 * is removed and the old file is untouched.
 */
export async function writeFileAtomic(
  path: string,
  content: string | Buffer,
  redactor?: Redactor,
): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temp = tempPathFor(path);
  const data =
    typeof content === 'string' ? Buffer.from(redactor ? redactor.redact(content) : content) : content;
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(redactor ? redactor.redactBuffer(data) : data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

export async function writeJsonAtomic(path: string, value: unknown, redactor?: Redactor): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(value, null, 2)}\n`, redactor);
}

/** Reads a JSON file; a missing, truncated or unparsable file is `undefined` (a cache miss). */
export async function readJsonOrUndefined<T = unknown>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as T;
  } catch (error) {
    if (errnoCode(error) === 'ENOENT' || error instanceof SyntaxError) return undefined;
    throw error;
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
