import { type Engine, immutableRef, inspectImage } from '../pipeline/docker.js';
import { InfraError } from '../pipeline/errors.js';
import type { TaskDefinition } from '../pipeline/task.js';

/** What lite mode records as the digest: the image was never pulled. */
export const LITE_DIGEST = 'not-pulled (lite mode)';

export interface PinDigestInput {
  resolveKey: string;
  ref: string | null;
  /** The immutable digest; in lite mode LITE_DIGEST. */
  digest: string;
}

export interface PinDigestRunInput {
  ref: string;
  /** What resolve-image made available: the locked digest, or the ref it just resolved. */
  image: string;
  engine: Engine;
}

export interface PinDigestOutput {
  ref: string | null;
  digest: string;
}

/**
 * Pins the image to an immutable digest (`repo@sha256:...` from RepoDigests, or the image id of a
 * local-only image), kept in runner.lock.yaml so that every attempt of this and later runs uses
 * the same image until --update-image. The record's key holds the digest.
 */
export const pinDigest: TaskDefinition<PinDigestInput, PinDigestOutput> = {
  name: 'pin-digest',
  version: 2,
  keyInputs: ({ resolveKey, digest }) => ({
    params: {
      /** The immutable digest (`repo@sha256:...` or an image id), or LITE_DIGEST. */
      digest,
    },
    upstream: { resolve: resolveKey },
  }),
  async run({ ref, digest }) {
    return { ref, digest };
  },
};

/** The immutable reference of what resolve-image made available (the caller writes runner.lock.yaml). */
export async function pinImage({ ref, image, engine }: PinDigestRunInput): Promise<string> {
  const info = await inspectImage(engine, image);
  if (!info) {
    const message = `${image} vanished from the engine while it was being pinned`;
    throw new InfraError(message, { reason: 'docker', message });
  }
  // A locked `repo@sha256` stays as it is; a tag becomes its digest or the image id.
  return image.includes('@') || image.startsWith('sha256:') ? image : immutableRef(info, ref);
}
