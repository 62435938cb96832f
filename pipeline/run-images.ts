import { join } from 'node:path';
import type { RuntimeMount } from '../tasks/harness-input.js';
import { pinDigest, pinImage } from '../tasks/pin-digest.js';
import { resolveImage } from '../tasks/resolve-image.js';
import { type Engine, extractRuntime, LABELS, ownerLabel } from './docker.js';
import { InfraError } from './errors.js';
import type { EventSink } from './events.js';
import { writeLock } from './lock.js';
import { processStart } from './markers.js';
import { type BenchmarkPlan, hasWork, type Plan } from './plan.js';
import { cacheDir } from './probe.js';
import type { Redactor } from './redact.js';
import { NodeStore } from './state.js';
import { taskKey } from './task.js';

/** What of a run's options resolving and pinning images takes. */
export interface ImageOptions {
  /** Re-resolve the image instead of using the locked digest. */
  updateImage: boolean;
  /** Build the image from the benchmark's Dockerfile even when it is present. */
  build: boolean;
  signal: AbortSignal;
  emit: EventSink;
}

/** docker: the images a run uses, resolved and pinned before its attempts are planned. */

/**
 * docker: makes the benchmark's image available (resolve-image) and pins it (pin-digest, which
 * writes runner.lock.yaml), recording both nodes. Benchmarks that share an image resolve it once.
 * Returns the digest every attempt of this run will use.
 */
export async function pinBenchmarkImage(
  bp: BenchmarkPlan,
  engine: Engine,
  images: Map<string, Promise<string>>,
  options: ImageOptions,
  redactor: Redactor,
): Promise<string> {
  const ref = bp.bench.manifest.image!;
  const locked = options.updateImage || options.build ? undefined : bp.locked;
  const store = new NodeStore(bp.paths, redactor);
  const ctx = { signal: options.signal, key: bp.resolve.key, emit: options.emit, redactor };
  const once = `${ref} ${locked ?? ''} ${bp.context?.hash ?? ''}`;
  if (!images.has(once)) {
    const input = { ref, mode: 'docker' as const, context: bp.context };
    const resolving = resolveImage
      .run({ ...input, engine, locked, build: options.build, update: options.updateImage }, ctx)
      .then(async (out) => {
        await store.set('resolve-image', bp.resolve.key, out);
        const digest = locked ?? (await pinImage({ ref, image: out.image!, engine }));
        options.emit({ type: 'progress', message: `${bp.bench.slug}: ${ref} is ${digest} (${out.source})` });
        return digest;
      });
    images.set(once, resolving);
  }
  const digest = await images.get(once)!;
  if (digest !== locked)
    await writeLock(bp.bench.dir, {
      ref,
      digest,
      context: bp.context?.hash,
      resolved_at: new Date().toISOString(),
    });
  const pinKey = taskKey(pinDigest, { resolveKey: bp.resolve.key.key, ref, digest });
  await store.set('pin-digest', pinKey, { ref, digest });
  return digest;
}

/**
 * docker: the harnesses configured with a runtime image, each resolved like a benchmark image,
 * pinned to its digest and extracted once per digest into the cache, to be mounted read-only.
 */
export async function mountRuntimes(
  plan: Plan,
  engine: Engine,
  options: ImageOptions,
  redactor: Redactor,
): Promise<Map<string, RuntimeMount>> {
  const mounts = new Map<string, RuntimeMount>();
  const start = await processStart(process.pid);
  for (const bp of plan.benchmarks.filter((b) => b.mode === 'docker' && hasWork(b))) {
    for (const { adapter } of bp.lines) {
      const runtime = adapter.config.runtime;
      if (!runtime || mounts.has(adapter.name)) continue;
      if (engine.remote) {
        const message = `${adapter.name}: a runtime image is mounted from this machine, so it needs a local engine, not ${engine.address}`;
        throw new InfraError(message, { reason: 'docker', message });
      }
      const ctx = { signal: options.signal, key: bp.resolve.key, emit: options.emit, redactor };
      const resolved = await resolveImage.run(
        {
          ref: runtime.image,
          mode: 'docker',
          context: undefined,
          engine,
          locked: undefined,
          build: false,
          update: options.updateImage,
        },
        ctx,
      );
      const image = await pinImage({ ref: runtime.image, image: resolved.image!, engine });
      const labels = { [LABELS.tool]: 'runtime', [LABELS.owner]: ownerLabel(process.pid, start) };
      const dir = await extractRuntime(engine, image, runtime.path, join(cacheDir(), 'runtimes'), labels);
      options.emit({ type: 'progress', message: `${adapter.name}: runtime ${runtime.path} from ${image}` });
      mounts.set(adapter.name, {
        image,
        dir,
        path: runtime.path,
        entrypoint: runtime.entrypoint ?? `${runtime.path.replace(/\/+$/, '')}/bin/run-attempt`,
      });
    }
  }
  return mounts;
}
