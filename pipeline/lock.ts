import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { UsageError } from './errors.js';
import { readTextOrUndefined, writeFileAtomic } from './fs-atomic.js';

export const LOCK_FILE = 'runner.lock.yaml';

const lockSchema = z.object({
  /** The image reference from runner.yaml that was resolved. */
  ref: z.string().min(1),
  /** `repo@sha256:...`, or the image id (`sha256:...`) of an image that is only local. */
  digest: z.string().regex(/^(\S+@)?sha256:[0-9a-f]{64}$/),
  /** The hash of the benchmark's Dockerfile context the image was built from, if it has one. */
  context: z.string().optional(),
  /** When it was resolved (ISO 8601). */
  resolved_at: z.string(),
});

export type ImageLock = z.output<typeof lockSchema>;

export const lockPath = (benchDir: string) => join(benchDir, LOCK_FILE);

/** The benchmark's pinned image, or undefined when it has not been pinned yet. */
export async function readLock(benchDir: string): Promise<ImageLock | undefined> {
  const file = lockPath(benchDir);
  const text = await readTextOrUndefined(file);
  if (text === undefined) return undefined;
  let data: unknown;
  try {
    data = parse(text);
  } catch (error) {
    throw new UsageError(`${file}: not valid YAML (${(error as Error).message}); delete it to re-pin`);
  }
  const result = lockSchema.safeParse(data);
  if (!result.success) {
    const where = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new UsageError(`${file}: ${where}; delete it, or run with --update-image, to re-pin`);
  }
  return result.data;
}

export async function writeLock(benchDir: string, lock: ImageLock): Promise<void> {
  const header = '# Written by bench-pipeline: the image every attempt of this benchmark runs.\n';
  await writeFileAtomic(lockPath(benchDir), header + stringify(lock));
}
