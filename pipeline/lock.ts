import { join } from 'node:path';
import { stringify } from 'yaml';
import { z } from 'zod';
import { UsageError } from './errors.js';
import { writeFileAtomic } from './fs-atomic.js';
import { readStored } from './stored.js';

export const LOCK_FILE = 'runner.lock.yaml';

/** runner.lock.yaml: the image every attempt of a benchmark runs, until `--update-image`. */
export const lockSchema = z.object({
  /** The image reference from runner.yaml that was resolved. */
  ref: z.string().min(1),
  /** `repo@sha256:...`, or the image id (`sha256:...`) of an image that is only local. */
  digest: z
    .string()
    .regex(/^(\S+@)?sha256:[0-9a-f]{64}$/, 'must be repo@sha256:<64 hex digits> or an image id'),
  /** The hash of the benchmark's Dockerfile context the image was built from, if it has one. */
  context: z.string().optional(),
  /** When it was resolved (ISO 8601). */
  resolved_at: z.string(),
});

export type ImageLock = z.output<typeof lockSchema>;

export const lockPath = (benchDir: string) => join(benchDir, LOCK_FILE);

/**
 * The benchmark's pinned image, or undefined when it has not been pinned yet. A lock that cannot
 * be read is an error, not a miss: re-pinning in silence could move the image under attempts
 * that were meant to share it.
 */
export async function readLock(benchDir: string): Promise<ImageLock | undefined> {
  const read = await readStored(lockPath(benchDir), lockSchema);
  if (read.ok) return read.value;
  if (read.reason === 'absent') return undefined;
  throw new UsageError(`${read.why}; delete it, or run with --update-image, to re-pin`);
}

export async function writeLock(benchDir: string, lock: ImageLock): Promise<void> {
  const header = '# Written by bench-pipeline: the image every attempt of this benchmark runs.\n';
  await writeFileAtomic(lockPath(benchDir), header + stringify(lock));
}
