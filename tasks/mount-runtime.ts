import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import type { HarnessConfig } from '../pipeline/config.js';
import { dockerError, type Engine, LABELS, ownerLabel } from '../pipeline/docker.js';
import { InfraError } from '../pipeline/errors.js';
import { processStart } from '../pipeline/markers.js';
import { cacheDir } from '../pipeline/probe.js';
import type { TaskDefinition } from '../pipeline/task.js';
import type { RuntimeMount } from './harness-input.js';
import { pinImage } from './pin-digest.js';
import { resolveImage } from './resolve-image.js';

export interface MountRuntimeInput {
  harness: string;
  /** The harness's `runtime` in the config: the image and the path in it that holds the CLI. */
  runtime: NonNullable<HarnessConfig['runtime']>;
}

export interface MountRuntimeRunInput extends MountRuntimeInput {
  engine: Engine;
  /** --update-image: look the tag up again. */
  update: boolean;
}

/**
 * docker: a harness's runtime image, resolved like a benchmark image (local, else pulled), pinned
 * to its digest and extracted once per digest into the cache, to be mounted read-only into the
 * attempts' containers. Run every time (the tag may have moved); the extraction is reused.
 */
export const mountRuntime: TaskDefinition<MountRuntimeInput, RuntimeMount, MountRuntimeRunInput> = {
  name: 'mount-runtime',
  version: 1,
  keyInputs: ({ harness, runtime }) => ({
    params: { harness, image: runtime.image, path: runtime.path, entrypoint: runtime.entrypoint ?? null },
    upstream: {},
  }),
  async run({ harness, runtime, engine, update }, ctx) {
    if (engine.remote) {
      const message = `${harness}: a runtime image is mounted from this machine, so it needs a local engine, not ${engine.address}`;
      throw new InfraError(message, { reason: 'docker', message });
    }
    const resolved = await resolveImage.run(
      {
        ref: runtime.image,
        mode: 'docker',
        context: undefined,
        engine,
        locked: undefined,
        build: false,
        update,
      },
      ctx,
    );
    const image = await pinImage(engine, runtime.image, resolved.image!);
    const labels = {
      [LABELS.tool]: 'runtime',
      [LABELS.owner]: ownerLabel(process.pid, await processStart(process.pid)),
    };
    const dir = await extractRuntime(engine, image, runtime.path, join(cacheDir(), 'runtimes'), labels);
    ctx.emit({ type: 'progress', message: `${harness}: runtime ${runtime.path} from ${image}` });
    return {
      image,
      dir,
      path: runtime.path,
      entrypoint: runtime.entrypoint ?? `${runtime.path.replace(/\/+$/, '')}/bin/run-attempt`,
    };
  },
};

/**
 * The `path` of a runtime image, extracted once per image digest under `root` (copied out of a
 * created, never started, container through the archive API) and returned as a directory to
 * mount. A half-extracted runtime is never visible: it lands in a temp directory renamed into place.
 */
async function extractRuntime(
  engine: Engine,
  image: string,
  path: string,
  root: string,
  labels: Record<string, string>,
): Promise<string> {
  const dir = join(root, `${image.replace(/^.*sha256:/, '')}${path.replaceAll('/', '_')}`);
  if (existsSync(dir)) return dir;
  await mkdir(root, { recursive: true });
  const temp = await mkdtemp(`${dir}.tmp-`);
  let container: Docker.Container | undefined;
  try {
    // Created only to be read from; its entrypoint never runs.
    container = await engine.docker.createContainer({
      Image: image,
      Entrypoint: ['/bin/true'],
      Labels: labels,
    });
    const { x } = await import('tar');
    await pipeline(
      await container.getArchive({ path: `${path.replace(/\/+$/, '')}/.` }),
      x({ cwd: temp, strip: 1 }) as unknown as NodeJS.WritableStream,
    );
    await rename(temp, dir).catch((error) => {
      // Another invocation extracted the same runtime first: theirs is as good.
      if (!existsSync(dir)) throw error;
    });
    return dir;
  } catch (error) {
    throw dockerError(`could not extract ${path} from runtime image ${image}`, error);
  } finally {
    await rm(temp, { recursive: true, force: true });
    if (container) await container.remove({ force: true }).catch(() => {});
  }
}
