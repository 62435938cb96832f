import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fg from 'fast-glob';
import { buildCached, buildContext, hashContext } from '../../tasks/resolve-image.js';
import { listBenchmarks, selectBenchmarks } from '../benchmarks.js';
import { loadConfig } from '../config.js';
import { connectEngine, engineAddress } from '../docker.js';
import { UsageError } from '../errors.js';
import { loadBenchmark } from '../manifest.js';
import type { ParsedArgs } from './options.js';

/** The installed package: images/Dockerfile and the compiled run-attempt with its adapters. */
const PACKAGE_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const VERSION = (createRequire(import.meta.url)('../../../package.json') as { version: string }).version;
const HARNESS_IMAGE_FILES = [
  'images/Dockerfile',
  'images/run-attempt.sh',
  'dist/images/*.js',
  'dist/tasks/harnesses/*.js',
];

/**
 * `images build [benchmark...]`: the harness image from images/ (tagged `--tag`, by default
 * `bench-pipeline/harness:<version>`), then the image of every named benchmark (or every
 * benchmark) that has a Dockerfile. Each is keyed by its context hash, like resolve-image: an
 * unchanged context is never built twice.
 */
export async function imagesCommand({ values, positionals }: ParsedArgs<'images'>): Promise<number> {
  const [sub, ...named] = positionals;
  if (sub !== 'build') {
    throw new UsageError(
      'images: usage: bench-pipeline images build [benchmark...] [--tag T] [--base IMAGE]',
    );
  }
  const config = await loadConfig(values.config);
  const engine = await connectEngine(engineAddress(config.docker.host));
  const say = (line: string) => process.stdout.write(`${line}\n`);

  const buildArgs: Record<string, string> = {};
  if (values.base) buildArgs.BASE = values.base;
  if (values.clis !== undefined) buildArgs.CLIS = values.clis;
  const files = await fg(HARNESS_IMAGE_FILES, { cwd: PACKAGE_ROOT });
  if (!files.includes('dist/images/run-attempt.js')) {
    throw new UsageError(`${PACKAGE_ROOT}: dist/images/run-attempt.js is missing; run npm run build first`);
  }
  const harness = await hashContext({
    dir: PACKAGE_ROOT,
    files,
    dockerfile: 'images/Dockerfile',
    buildArgs,
  });
  const tag = values.tag ?? `bench-pipeline/harness:${VERSION}`;
  const how = await buildCached(engine, tag, harness, (line) => say(`image  ${tag}: ${line}`));
  say(`${tag}: ${how === 'built' ? 'built' : 'up to date'} (harness image)`);

  const benches = named.length
    ? await selectBenchmarks(config, named)
    : await Promise.all(
        (await listBenchmarks(config)).map((s) => loadBenchmark(join(config.benchmarksDir, s))),
      );
  for (const bench of benches) {
    const context = await buildContext(bench.dir);
    const image = bench.manifest.image;
    if (!context || !image) {
      if (named.length) {
        const missing = context ? 'has no image in runner.yaml to tag it with' : 'has no Dockerfile';
        throw new UsageError(`${bench.slug}: ${missing}`);
      }
      continue;
    }
    const built = await buildCached(engine, image, context, (line) => say(`image  ${image}: ${line}`));
    say(
      `${image}: ${built === 'built' ? 'built' : 'up to date'} (benchmark ${bench.slug}; the next run pins it)`,
    );
  }
  return 0;
}
