import { type Engine, immutableRef, inspectImage } from '../pipeline/docker.js';
import { InfraError } from '../pipeline/errors.js';
import { writeLock } from '../pipeline/lock.js';
import type { TaskDefinition } from '../pipeline/task.js';

/** What lite mode records as the digest: the image was never pulled. */
export const LITE_DIGEST = 'not-pulled (lite mode)';

export interface PinDigestInput {
  resolveKey: string;
  ref: string | null;
  /** The immutable digest; in lite mode LITE_DIGEST. */
  digest: string;
}

export interface PinDigestRunInput extends PinDigestInput {
  /** What resolve-image made available: the locked digest, or the ref it just resolved; null: no image. */
  image: string | null;
  /** docker mode: the engine that holds it; undefined in lite mode. */
  engine: Engine | undefined;
  /** The benchmark's directory, whose runner.lock.yaml is written on a new pin. */
  benchDir: string;
  /** The digest runner.lock.yaml held when the run started (re-pinning it is no change). */
  locked: string | undefined;
  /** The hash of the Dockerfile context the image was built from, for the lock. */
  context: string | undefined;
}

export interface PinDigestOutput {
  ref: string | null;
  digest: string;
}

/**
 * Pins the image to an immutable digest (`repo@sha256:...` from RepoDigests, or the image id of a
 * local-only image) and writes runner.lock.yaml when that is a new pin, so that every attempt of
 * this and later runs uses the same image until --update-image. The record's key holds the
 * digest. Lite mode pins nothing: its digest is LITE_DIGEST.
 */
export const pinDigest: TaskDefinition<PinDigestInput, PinDigestOutput, PinDigestRunInput> = {
  name: 'pin-digest',
  version: 2,
  keyInputs: ({ resolveKey, digest }) => ({
    params: {
      /** The immutable digest (`repo@sha256:...` or an image id), or LITE_DIGEST. */
      digest,
    },
    upstream: { resolve: resolveKey },
  }),
  async run({ ref, image, engine, benchDir, locked, context }) {
    if (!engine || !ref || !image) return { ref, digest: LITE_DIGEST };
    const digest = await pinImage(engine, ref, image);
    if (digest !== locked)
      await writeLock(benchDir, { ref, digest, context, resolved_at: new Date().toISOString() });
    return { ref, digest };
  },
};

/** The immutable reference of `image` (what resolve-image made available of `ref`) on the engine. */
export async function pinImage(engine: Engine, ref: string, image: string): Promise<string> {
  const info = await inspectImage(engine, image);
  if (!info) {
    const message = `${image} vanished from the engine while it was being pinned`;
    throw new InfraError(message, { reason: 'docker', message });
  }
  // A locked `repo@sha256` stays as it is; a tag becomes its digest or the image id.
  return image.includes('@') || image.startsWith('sha256:') ? image : immutableRef(info, ref);
}
