import type { RuntimeMount } from '../tasks/harness-input.js';
import { type MountRuntimeInput, mountRuntime } from '../tasks/mount-runtime.js';
import { type PinDigestInput, type PinDigestOutput, pinDigest } from '../tasks/pin-digest.js';
import { type ResolveImageInput, type ResolveImageOutput, resolveImage } from '../tasks/resolve-image.js';
import { loadSeed, type SeedInput, type SeedOutput, seedWorkspace } from '../tasks/seed-workspace.js';
import type { Engine } from './docker.js';
import { InfraError } from './errors.js';
import type { EventSink } from './events.js';
import type { Step } from './executor.js';
import { type BenchmarkPlan, UNPINNED } from './plan.js';
import type { NodeStore } from './state.js';
import { taskKey } from './task.js';

/** What of a run the steps of a benchmark's shared nodes take. */
export interface BenchmarkStepContext {
  /** docker mode: the engine; undefined when no benchmark of the run needs one. */
  engine: Engine | undefined;
  /** Re-resolve the image instead of using the locked digest. */
  updateImage: boolean;
  /** Build the image from the benchmark's Dockerfile even when it is present. */
  build: boolean;
  emit: EventSink;
}

const needEngine = (): never => {
  const message = 'docker mode needs an engine';
  throw new InfraError(message, { reason: 'docker', message });
};

/**
 * The steps of a run's shared nodes. What several benchmarks share is done once: an image they
 * all use is resolved once, a harness runtime extracted once.
 */
export class BenchmarkSteps {
  readonly #images = new Map<string, Promise<ResolveImageOutput>>();
  readonly #runtimes = new Map<string, Promise<RuntimeMount>>();

  constructor(private readonly run: BenchmarkStepContext) {}

  /**
   * lite: recorded from its store record. docker: run every time, since the engine may have lost
   * the image (then a locked digest is pulled by digest, never by tag).
   */
  resolve(bp: BenchmarkPlan, input: ResolveImageInput): Step<ResolveImageOutput> {
    const { engine, updateImage, build } = this.run;
    const locked = updateImage || build ? undefined : bp.locked;
    return {
      key: () => bp.resolve.key,
      ...(bp.mode === 'docker' && { lookup: false as const }),
      run: (context) => {
        if (bp.mode === 'lite')
          return resolveImage.run(
            { ...input, engine: undefined, locked, build, update: false },
            context(bp.resolve.key),
          );
        const once = `${input.ref} ${locked ?? ''} ${input.context?.hash ?? ''}`;
        let resolving = this.#images.get(once);
        if (!resolving) {
          resolving = resolveImage.run(
            { ...input, engine: engine ?? needEngine(), locked, build, update: updateImage },
            context(bp.resolve.key),
          );
          this.#images.set(once, resolving);
        }
        return resolving;
      },
    };
  }

  /**
   * The pin's key is its digest's: known from runner.lock.yaml, else once pinned. A lock's pin is
   * a hit on its record; a new pin writes runner.lock.yaml (pin-digest's own work).
   */
  pin(
    bp: BenchmarkPlan,
    input: PinDigestInput,
    resolved: () => ResolveImageOutput,
    store: NodeStore,
  ): Step<PinDigestOutput> {
    const { engine, updateImage, build } = this.run;
    const known = input.digest !== UNPINNED && !updateImage && !build;
    const key = known ? taskKey(pinDigest, input) : undefined;
    return {
      key: () => key,
      lookup: async () =>
        key && (await store.get('pin-digest', key.key))
          ? { output: { ref: input.ref, digest: input.digest } }
          : undefined,
      run: async (context) => {
        const out = await pinDigest.run(
          {
            ...input,
            image: resolved().image,
            engine: bp.mode === 'docker' ? (engine ?? needEngine()) : undefined,
            benchDir: bp.bench.dir,
            locked: bp.locked,
            context: bp.context?.hash,
          },
          context(key ?? bp.pin.key),
        );
        if (bp.mode === 'docker')
          this.run.emit({
            type: 'progress',
            message: `${bp.bench.slug}: ${input.ref} is ${out.digest} (${resolved().source})`,
          });
        return out;
      },
      keyOf: (out) => taskKey(pinDigest, { ...input, digest: out.digest }),
    };
  }

  /**
   * The template of the visible files: a hit when it is on disk, whole. Its record keeps the
   * preimage (every file's hash), which explains later staleness, so a template without one gets it.
   */
  seed(bp: BenchmarkPlan, input: SeedInput, store: NodeStore): Step<SeedOutput> {
    const key = bp.seed.key;
    const warn = (message: string) =>
      this.run.emit({ type: 'warning', message: `${bp.bench.slug}: ${message}` });
    return {
      key: () => key,
      lookup: async () => {
        const seed = await loadSeed(bp.paths, key.key, warn);
        if (!seed) return undefined;
        if (!(await store.get('seed-workspace', key.key)))
          await store.set('seed-workspace', key, { files: seed.files });
        return { output: seed };
      },
      run: (context) => seedWorkspace.run(input, context(key)),
      record: (seed) => ({ files: seed.files }),
    };
  }

  /** A harness's runtime image, resolved every run (its tag may move), extracted once per digest. */
  runtime(input: MountRuntimeInput, mounts: Map<string, RuntimeMount>): Step<RuntimeMount> {
    const key = taskKey(mountRuntime, input);
    return {
      key: () => key,
      lookup: false,
      run: async (context) => {
        let mounting = this.#runtimes.get(input.harness);
        if (!mounting) {
          mounting = mountRuntime.run(
            { ...input, engine: this.run.engine ?? needEngine(), update: this.run.updateImage },
            context(key),
          );
          this.#runtimes.set(input.harness, mounting);
        }
        const mount = await mounting;
        mounts.set(input.harness, mount);
        return mount;
      },
      // The extraction is the cache (one directory per digest); the record would say no more.
      stored: false,
    };
  }
}
