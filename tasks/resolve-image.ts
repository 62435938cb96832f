import type { TaskDefinition } from '../pipeline/task.js';

export interface ResolveImageInput {
  /** runner.yaml `image`, or null when the benchmark names none. */
  ref: string | null;
  mode: 'lite' | 'docker';
}

export interface ResolveImageOutput {
  ref: string | null;
  /** How the image was obtained; lite mode records the ref without pulling it. */
  source: 'recorded (lite mode)' | 'none';
}

/** Makes the benchmark's image available. In lite mode the image is only recorded for traceability. */
export const resolveImage: TaskDefinition<ResolveImageInput, ResolveImageOutput> = {
  name: 'resolve-image',
  version: 1,
  keyInputs: ({ ref, mode }) => ({
    params: {
      /** The image reference from runner.yaml. */
      ref,
      /** Lite mode resolves nothing, so its node differs from a docker-mode node of the same ref. */
      mode,
    },
    upstream: {},
  }),
  async run({ ref }) {
    return { ref, source: ref ? 'recorded (lite mode)' : 'none' };
  },
};
