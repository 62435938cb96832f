import { basename, dirname, join, relative, resolve } from 'node:path';
import { loadConfig } from '../config.js';
import { connectEngine, engineAddress, inspectImage, pullImage } from '../docker.js';
import { parseTimeout } from '../duration.js';
import { InfraError, UsageError } from '../errors.js';
import { buildPlan } from '../plan.js';
import { VersionProbe } from '../probe.js';
import { readRunLog, runLogPath } from '../run-log.js';
import { benchmarkSelection } from '../selection.js';
import type { ParsedArgs } from './options.js';
import { runReported } from './run.js';
import { retriesFlag } from './selection.js';

/**
 * `rerun <attempt-dir>`: a new attempt of the same benchmark, harness, model, variant, mode and
 * timeout, on the image digest the attempt recorded. It refuses when that image cannot be had, or
 * when the attempt's inputs (visible files, prompt, harness, options) are no longer today's,
 * unless --allow-changed-inputs.
 */
export async function rerunCommand({ values, positionals }: ParsedArgs<'rerun'>): Promise<number> {
  if (positionals.length !== 1)
    throw new UsageError('rerun: name one attempt directory (eval-attempts/<name>)');
  const dir = resolve(positionals[0]!);
  const file = runLogPath(dir);
  const read = await readRunLog(dir);
  if (!read.ok) throw new UsageError(`${file}: not a readable attempt record (${read.problem})`);
  const log = read.value;
  // Recorded by an older version, or edited: a timeout a timer cannot hold would end it at once.
  const timeout = parseTimeout(`${log.timeoutMs}ms`);
  if ('problem' in timeout) throw new UsageError(`${file}: timeoutMs ${log.timeoutMs}: ${timeout.problem}`);
  const config = await loadConfig(values.config);
  const slug = log.benchmark.name;
  const attempts = join(config.benchmarksDir, slug, 'eval-attempts');
  if (relative(attempts, dirname(dir)).startsWith('..')) {
    throw new UsageError(
      `${dir}: not an attempt of a benchmark under ${config.benchmarksDir} (expected ${join(attempts, basename(dir))})`,
    );
  }

  const selection = benchmarkSelection(slug, {
    more: 1,
    mode: log.mode,
    lines: [
      {
        harness: log.harness.name,
        model: log.model.source === 'vendor-default' ? undefined : log.model.value,
        variant: log.variant ?? undefined,
        modelSource: log.model.source,
      },
    ],
    digest: log.mode === 'docker' ? log.imageDigest : undefined,
  });
  const plan = await buildPlan(config, selection, { persist: false, probe: new VersionProbe() });
  const was = plan.benchmarks[0]?.lines[0]?.attempts.find((a) => a.ref.n === log.attempt);
  if (was?.status.state === 'stale' && !values['allow-changed-inputs']) {
    throw new UsageError(
      `${relative(process.cwd(), dir) || dir}: its inputs changed since it ran (${was.status.why}); ` +
        'a rerun would not repeat it. Pass --allow-changed-inputs to run it with today’s inputs anyway',
    );
  }
  if (log.mode === 'docker') await ensureImage(log.imageDigest, config.docker.host);

  return runReported(
    config,
    {
      selection,
      runId: undefined,
      concurrency: 1,
      timeoutMs: timeout.ms,
      clean: values.clean ?? false,
      updateImage: false,
      build: false,
      retries: retriesFlag(values.retries),
      maxCostUsd: undefined,
    },
    values.json,
  );
}

/** The recorded image, on the engine or pulled by digest; never a tag that may have moved. */
async function ensureImage(digest: string, host: string | undefined): Promise<void> {
  const engine = await connectEngine(engineAddress(host));
  if (await inspectImage(engine, digest)) return;
  if (!digest.includes('@')) {
    const message =
      `the attempt ran on image ${digest}, which was built or loaded on its engine and is not on this ` +
      'one; an image id cannot be pulled. Rebuild or load exactly that image to rerun the attempt';
    throw new InfraError(message, { reason: 'docker', message });
  }
  await pullImage(engine, digest, (line) => process.stderr.write(`image  ${line}\n`));
}
