import type { TaskDefinition } from '../pipeline/task.js';

/** What lite mode records as the digest: the image was never pulled. */
export const LITE_DIGEST = 'not-pulled (lite mode)';

export interface PinDigestInput {
  resolveKey: string;
  ref: string | null;
  /** The immutable digest; in lite mode LITE_DIGEST. */
  digest: string;
}

export interface PinDigestOutput {
  ref: string | null;
  digest: string;
}

/** Pins the image to an immutable digest so every attempt of a run uses the same one. */
export const pinDigest: TaskDefinition<PinDigestInput, PinDigestOutput> = {
  name: 'pin-digest',
  version: 1,
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
