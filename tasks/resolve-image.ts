import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { listTree } from '../pipeline/copy-tree.js';
import { buildImage, type Engine, inspectImage, pullImage } from '../pipeline/docker.js';
import { InfraError } from '../pipeline/errors.js';
import { exists } from '../pipeline/fs-atomic.js';
import { LOCK_FILE } from '../pipeline/lock.js';
import type { TaskDefinition } from '../pipeline/task.js';
import { FORBIDDEN } from '../pipeline/visible-files.js';

/** A Dockerfile and the files it may use. */
export interface BuildContext {
  dir: string;
  /** Paths relative to `dir`: everything but what no image may contain (the scorecard, attempts, state). */
  files: string[];
  /** The Dockerfile, relative to `dir` (default `Dockerfile`). */
  dockerfile?: string;
  buildArgs?: Record<string, string>;
  /** sha256 over every path, content and build argument: an unchanged context is never rebuilt. */
  hash: string;
}

/** The label that ties a built image to its context hash. */
export const CONTEXT_LABEL = 'dev.bench-pipeline.context';

/** `benchmarks/<slug>/Dockerfile` and its context, or undefined when the benchmark has none. */
export async function buildContext(benchDir: string): Promise<BuildContext | undefined> {
  if (!(await exists(join(benchDir, 'Dockerfile')))) return undefined;
  const excluded = new Set([...FORBIDDEN, LOCK_FILE]);
  const files = (await listTree(benchDir))
    .filter((e) => e.type !== 'dir' && !excluded.has(e.path.split('/')[0]!.toLowerCase()))
    .map((e) => e.path);
  return hashContext({ dir: benchDir, files });
}

/** Completes a context with its hash (files sorted, so their order does not matter). */
export async function hashContext(context: Omit<BuildContext, 'hash'>): Promise<BuildContext> {
  const files = [...context.files].sort();
  const hash = createHash('sha256').update(JSON.stringify([context.dockerfile, context.buildArgs]));
  for (const f of files)
    hash.update(`${f}\0`).update(await readFile(join(context.dir, f)).catch(() => Buffer.alloc(0)));
  return { ...context, files, hash: hash.digest('hex') };
}

/**
 * Builds `ref` from `context` unless the engine has it from this very context already (its label
 * holds the context hash). Returns whether it built.
 */
export async function buildCached(
  engine: Engine,
  ref: string,
  context: BuildContext,
  progress: (line: string) => void,
): Promise<'local' | 'built'> {
  const present = await inspectImage(engine, ref);
  if (present?.Config?.Labels?.[CONTEXT_LABEL] === context.hash) return 'local';
  const { create } = await import('tar');
  const tar = Readable.from(create({ cwd: context.dir, portable: true }, context.files));
  await buildImage(engine, tar, ref, { [CONTEXT_LABEL]: context.hash }, progress, {
    dockerfile: context.dockerfile,
    buildargs: context.buildArgs,
  });
  return 'built';
}

export interface ResolveImageInput {
  /** runner.yaml `image`, or null when the benchmark names none. */
  ref: string | null;
  mode: 'lite' | 'docker';
  /** The benchmark's Dockerfile context, when it has one: its hash is part of the key. */
  context: BuildContext | undefined;
}

export interface ResolveImageRunInput extends ResolveImageInput {
  engine: Engine | undefined;
  /** The digest in runner.lock.yaml, unless --update-image asks to resolve the tag again. */
  locked: string | undefined;
  /** --build: build from the Dockerfile even when the image is present (unless its context is unchanged). */
  build: boolean;
  /** --update-image: look the tag up again (pull it) even when it is present. */
  update: boolean;
}

export interface ResolveImageOutput {
  ref: string | null;
  /** How the image was obtained. */
  source: 'recorded (lite mode)' | 'none' | 'local' | 'pulled' | 'built';
  /** What to run: the locked digest, or the ref just resolved (pin-digest makes it immutable). */
  image: string | null;
}

/**
 * Makes the benchmark's image available on the engine: the locked digest when there is one
 * (pulled by digest if missing, never by tag); otherwise the local image, else a build from the
 * benchmark's Dockerfile, else a pull. In lite mode the image is only recorded.
 */
export const resolveImage: TaskDefinition<ResolveImageInput, ResolveImageOutput, ResolveImageRunInput> = {
  name: 'resolve-image',
  version: 2,
  keyInputs: ({ ref, mode, context }) => ({
    params: {
      /** The image reference from runner.yaml. */
      ref,
      /** Lite mode resolves nothing, so its node differs from a docker-mode node of the same ref. */
      mode,
      /** A changed Dockerfile context is a different image. */
      contextHash: context?.hash ?? null,
    },
    upstream: {},
  }),
  async run({ ref, mode, context, engine, locked, build, update }, { emit }) {
    if (mode === 'lite' || !ref) return { ref, source: ref ? 'recorded (lite mode)' : 'none', image: ref };
    if (!engine)
      throw new InfraError('docker mode needs an engine', {
        reason: 'docker',
        message: 'docker mode needs an engine',
      });
    const progress = (line: string) => emit({ type: 'progress', message: `${ref}: ${line}` });
    if (locked && !build && !update) {
      if (await inspectImage(engine, locked)) return { ref, source: 'local', image: locked };
      if (!locked.includes('@')) {
        const message =
          `the image pinned in ${LOCK_FILE} (${locked}) is not on this engine, and a local image id ` +
          'cannot be pulled; run with --update-image to resolve the image again and re-pin it';
        throw new InfraError(message, { reason: 'docker', message });
      }
      await pullImage(engine, locked, progress);
      return { ref, source: 'pulled', image: locked };
    }
    const present = await inspectImage(engine, ref);
    const builtFrom = present?.Config?.Labels?.[CONTEXT_LABEL];
    // Built here from another context: that context changed, so the image is rebuilt.
    if (context && (!present || build || update || builtFrom !== undefined)) {
      return { ref, source: await buildCached(engine, ref, context, progress), image: ref };
    }
    if (present && !update) return { ref, source: 'local', image: ref };
    try {
      await pullImage(engine, ref, progress);
    } catch (error) {
      // --update-image on an image that exists only here: nothing newer to fetch.
      if (!present) throw error;
      emit({ type: 'warning', message: `${ref}: ${(error as Error).message}; using the local image` });
      return { ref, source: 'local', image: ref };
    }
    return { ref, source: 'pulled', image: ref };
  },
};
