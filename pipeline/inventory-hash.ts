import { readFileSync } from 'node:fs';
import { hashFile, hashSync } from 'hasha';
import { z } from 'zod';
import { writeJsonAtomic } from './fs-atomic.js';
import { readStored } from './stored.js';
import type { Inventory, VisibleFile } from './visible-files.js';

/**
 * The content hashes of a benchmark's visible files, which the seed's key is made of, and the stat
 * cache that spares re-reading unchanged files.
 */

/** Above this size a file is hashed as a stream on hasha's worker thread instead of read whole. */
const STREAM_HASH_BYTES = 4 * 1024 * 1024;

/** Small files, the usual case, are hashed in this thread: a worker round trip costs more. */
async function hashContent(f: VisibleFile): Promise<string> {
  if (f.size > STREAM_HASH_BYTES) return hashFile(f.source, { algorithm: 'sha256' });
  return hashSync(readFileSync(f.source), { algorithm: 'sha256' });
}

/**
 * `.pipeline/stat-cache.json`: a visible file's content hash by its real path, trusted while its
 * size, mtime and inode are unchanged. A cache of another shape is empty: every file is hashed.
 */
export const statCacheSchema = z.record(
  z.string(),
  z.object({ size: z.number(), mtimeMs: z.number(), ino: z.number(), hash: z.string().min(1) }),
);

type StatCacheEntry = z.output<typeof statCacheSchema>[string];

/**
 * Fills in content hashes. A file whose real path, size, mtime and inode match the stat cache is
 * not read again. `persist` is false for `plan`, which must not write.
 */
export async function hashInventory(
  inventory: Inventory,
  statCacheFile: string,
  persist: boolean,
): Promise<void> {
  const read = await readStored(statCacheFile, statCacheSchema);
  const cache = read.ok ? read.value : {};
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
