import { constants, type Stats } from 'node:fs';
import { copyFile, type FileHandle, open } from 'node:fs/promises';
import { errnoCode } from './errors.js';
import { FILE_CHUNK, type Redactor } from './redact.js';

/** The granularity at which runs of zeros become holes: the page and usual filesystem block size. */
const BLOCK = 4096;
const ZERO_BLOCK = Buffer.alloc(BLOCK);

/** What a copy needs to know of its source. */
export type FileStats = Pick<Stats, 'size' | 'blocks' | 'mode'>;

/**
 * Copies one regular file with bounded memory, whatever its size: a copy-on-write clone where the
 * filesystem supports it (FICLONE), else an in-kernel copy; a sparse source (fewer blocks allocated
 * than its size needs) is copied skipping its all-zero blocks, so it stays sparse instead of
 * becoming fully allocated. With a redactor, a file that holds a token is rewritten from the
 * source with the token masked, streamed in chunks. Returns whether it was masked.
 */
export async function copyOneFile(
  src: string,
  dest: string,
  stats: FileStats,
  redactor?: Redactor,
): Promise<boolean> {
  if (stats.blocks * 512 < stats.size) {
    // Sparse: the holes are read either way, so searching and copying are one pass.
    if (!redactor?.active && (await cloned(src, dest))) return false;
    return streamCopy(src, dest, stats, redactor);
  }
  // Searched first: a file that holds a token is written once, masked, and never copied whole.
  if (redactor?.active && (await redactor.fileContains(src))) return streamCopy(src, dest, stats, redactor);
  // EXCL: every destination is new, and it spares ext4 a truncate journal entry per file.
  await copyFile(src, dest, constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL);
  return false;
}

/** A clone or nothing: the in-kernel fallback of copyFile would allocate every hole. */
async function cloned(src: string, dest: string): Promise<boolean> {
  try {
    await copyFile(src, dest, constants.COPYFILE_FICLONE_FORCE | constants.COPYFILE_EXCL);
    return true;
  } catch (error) {
    // The filesystem cannot clone (libuv has removed the new file); anything else is a real fault.
    if (CANNOT_CLONE.has(errnoCode(error) ?? '')) return false;
    throw error;
  }
}

/** What a clone attempt fails with where the filesystem or the pair of files does not support it. */
const CANNOT_CLONE = new Set(['ENOTSUP', 'EOPNOTSUPP', 'EXDEV', 'EINVAL', 'ENOSYS', 'ENOTTY']);

/**
 * Reads `src` in chunks, masks them if asked, and writes all but the all-zero blocks, so holes
 * stay holes. Returns whether a token was masked. For a file known to hold a token, this is
 * copyOneFile without its search.
 */
export async function streamCopy(
  src: string,
  dest: string,
  stats: FileStats,
  redactor: Redactor | undefined,
): Promise<boolean> {
  const masker = redactor?.active ? redactor.masker() : undefined;
  const input = await open(src, 'r');
  let output: FileHandle | undefined;
  try {
    output = await open(dest, 'wx', stats.mode & 0o7777);
    const buffer = Buffer.allocUnsafe(FILE_CHUNK);
    let position = 0;
    for (;;) {
      const { bytesRead } = await input.read(buffer, 0, FILE_CHUNK, null);
      if (bytesRead === 0) break;
      const data = buffer.subarray(0, bytesRead);
      position = await writeSkippingZeros(output, masker ? masker.push(data) : data, position);
    }
    if (masker) position = await writeSkippingZeros(output, masker.end(), position);
    // The size, including a hole at the end, which no write made.
    await output.truncate(position);
    await output.chmod(stats.mode & 0o7777);
    return masker?.masked ?? false;
  } finally {
    await input.close();
    await output?.close();
  }
}

/** Writes `data` at `position` except its all-zero blocks (left as holes); returns the end position. */
async function writeSkippingZeros(output: FileHandle, data: Buffer, position: number): Promise<number> {
  let runStart = -1;
  // Blocks aligned to the file offset, so a skipped block is one the filesystem can leave unallocated.
  for (let at = 0; at < data.length; ) {
    const end = Math.min(data.length, at + BLOCK - ((position + at) % BLOCK));
    const zero = data.subarray(at, end).equals(ZERO_BLOCK.subarray(0, end - at));
    if (!zero && runStart === -1) runStart = at;
    if (zero && runStart !== -1) {
      await output.write(data, runStart, at - runStart, position + runStart);
      runStart = -1;
    }
    at = end;
  }
  if (runStart !== -1) await output.write(data, runStart, data.length - runStart, position + runStart);
  return position + data.length;
}
