import { mkdir, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { z } from 'zod';
import { collect, collectedLimitations } from '../../tasks/collect.js';
import { materializeWorkspace, seedWorkspace } from '../../tasks/seed-workspace.js';
import { AttemptLifecycle, NextIndex } from '../attempt-lifecycle.js';
import { attemptName, modelId, slugPart } from '../attempts.js';
import { selectBenchmarks } from '../benchmarks.js';
import { loadConfig, parseSize } from '../config.js';
import { errnoCode, UsageError } from '../errors.js';
import { writeJsonAtomic } from '../fs-atomic.js';
import { configRedactor } from '../harness-env.js';
import { hashInventory } from '../inventory-hash.js';
import { nodeKey } from '../keys.js';
import { loadBenchmark } from '../manifest.js';
import { preflightBenchmark } from '../preflight-benchmark.js';
import { Redactor } from '../redact.js';
import { newRunId } from '../run.js';
import { runLogOf } from '../run-log.js';
import { benchmarkSelection } from '../selection.js';
import { statePaths } from '../state.js';
import { readStored } from '../stored.js';
import { taskKey } from '../task.js';
import type { ParsedArgs } from './options.js';

/** What `prepare` leaves beside the workspace (never inside it) for `collect` to find. */
export const preparedSchema = z.object({
  benchmarkDir: z.string().min(1),
  harness: z.string().min(1),
  model: z.string().min(1),
  /** The seed the workspace was made from: the attempt's key is made of it. */
  seedKey: z.string().min(1),
  visibleInputs: z.array(z.string()),
  baselineSource: z.string(),
  /** When prepare made it (ISO 8601): the attempt's start. */
  preparedAt: z.iso.datetime(),
  /** Set by collect: the attempt this workspace became. */
  collected: z.string().optional(),
});

type Prepared = z.output<typeof preparedSchema>;

export const MANUAL_DEVIATION = 'manual harness, container isolation not available';
const sidecar = (workspace: string) => `${workspace}.bench-pipeline.json`;

/**
 * `prepare <benchmark> --model M [--harness NAME]`: an isolated workspace for an agent that
 * cannot be driven from here (an IDE or desktop agent): only the visible files, outside the
 * repository, under the OS temp dir. Prints its path.
 */
export async function prepareCommand({ values, positionals }: ParsedArgs<'prepare'>): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('prepare: name one benchmark');
  if (!values.model) throw new UsageError('prepare: --model M names the model the agent runs on');
  const harness = values.harness ?? 'manual';
  if (slugPart(harness) !== harness)
    throw new UsageError(`--harness ${harness}: use lower-case letters, digits, '.', '_' and '-'`);
  const config = await loadConfig(values.config);
  const [bench] = await selectBenchmarks(config, positionals);
  const selection = benchmarkSelection(bench!.slug, { mode: 'lite' });
  const { diagnostics, inventory } = await preflightBenchmark(config, selection, bench!);
  const visible = diagnostics.filter((d) => d.code?.startsWith('visible-') || d.code?.startsWith('prompt-'));
  if (visible.length)
    throw new UsageError(`${bench!.manifestPath}: the visible files are not right`, visible);

  const paths = statePaths(bench!.dir);
  await hashInventory(inventory, paths.statCache, true);
  const redactor = new Redactor([]);
  const key = taskKey(seedWorkspace, { stateMode: bench!.manifest.state_mode, inventory, paths });
  const seed = await seedWorkspace.run(
    { stateMode: bench!.manifest.state_mode, inventory, paths },
    { signal: new AbortController().signal, key, emit: () => {}, redactor },
  );
  const root = join(tmpdir(), 'bench-pipeline', 'manual');
  await mkdir(root, { recursive: true });
  const workspace = await mkdtemp(join(root, `${bench!.slug}-${modelId(harness, values.model)}-`));
  await materializeWorkspace(seed, workspace);
  const prepared: Prepared = {
    benchmarkDir: resolve(bench!.dir),
    harness,
    model: values.model,
    seedKey: key.key,
    visibleInputs: inventory.files.map((f) => f.path),
    baselineSource: inventory.baselineSource,
    preparedAt: new Date().toISOString(),
  };
  await writeJsonAtomic(sidecar(workspace), prepared);
  process.stdout.write(
    `${workspace}\n\nOpen it in your agent (${harness}, model ${values.model}), give it the task in prompt.md, ` +
      `and when it is done:\n  bench-pipeline collect ${workspace}\n`,
  );
  return 0;
}

/**
 * `collect <workspace>`: the prepared workspace becomes the next attempt of its benchmark and
 * model, published like any other (staging, then one rename), with the deviation recorded.
 */
export async function collectCommand({ values, positionals }: ParsedArgs<'collect'>): Promise<number> {
  if (positionals.length !== 1) throw new UsageError('collect: name one workspace made by prepare');
  const workspace = resolve(positionals[0]!);
  const read = await readStored(sidecar(workspace), preparedSchema);
  if (!read.ok && read.reason === 'absent') {
    throw new UsageError(
      `${workspace}: not a workspace made by bench-pipeline prepare (no ${basename(sidecar(workspace))} beside it)`,
    );
  }
  if (!read.ok) {
    throw new UsageError(
      `${sidecar(workspace)}: not a record bench-pipeline prepare wrote (${read.problem})`,
    );
  }
  const prepared = read.value;
  if (prepared.collected) throw new UsageError(`${workspace}: already collected as ${prepared.collected}`);
  const config = await loadConfig(values.config);
  const bench = await loadBenchmark(prepared.benchmarkDir);
  const paths = statePaths(bench.dir);
  const redactor = configRedactor(config);
  const runId = newRunId();
  const id = modelId(prepared.harness, prepared.model);
  const started = prepared.preparedAt;

  // The next free index, claimed like a run claims one, so a concurrent run cannot take it too.
  const lifecycle = await AttemptLifecycle.claimNext(
    paths,
    runId,
    id,
    (n) => ({
      benchmark: bench.slug,
      name: attemptName(id, n),
      modelId: id,
      n,
      harness: prepared.harness,
      model: prepared.model,
      variant: undefined,
    }),
    new NextIndex(paths.attempts),
    redactor,
  );
  const { staging, ref } = lifecycle;
  const { n } = ref;
  try {
    await mkdir(staging, { recursive: true });
    // The attempt's key: what the agent was given (the seed), by which harness and model.
    const attempt = nodeKey(
      { name: 'manual-attempt', version: 1 },
      { harness: prepared.harness, model: prepared.model, n },
      { seed: prepared.seedKey },
    );
    const attemptKey = attempt.key;
    const ctx = { signal: new AbortController().signal, emit: () => {}, redactor };
    const ended = new Date().toISOString();
    const collected = await collect.run(
      { attemptKey, run: { workspace }, staging, maxFileSize: parseSize(config.collect.maxFileSize) },
      { ...ctx, key: taskKey(collect, { attemptKey }) },
    );
    const log = runLogOf(bench, {
      baselineSource: prepared.baselineSource,
      model: { id, displayName: prepared.model, value: prepared.model, source: 'flag' },
      harness: { name: prepared.harness, displayName: prepared.harness, cliVersion: 'manual', argv: [] },
      variant: null,
      mode: 'lite',
      imageDigest: 'not-pulled (manual harness)',
      engine: null,
      runtime: null,
      hostRuntimes: {},
      attempt: n,
      runId,
      workspace: { path: workspace, kept: true },
      startedAt: started,
      endedAt: ended,
      durationMs: Date.parse(ended) - Date.parse(started),
      outcome: 'succeeded',
      exitCode: null,
      signal: null,
      timedOut: false,
      timeoutMs: 0,
      visibleInputs: prepared.visibleInputs,
      isolationDeviations: [MANUAL_DEVIATION],
      logLimitations: [
        'manual harness: no agent-run.log or transcript; the times are from prepare to collect',
        ...collectedLimitations(collected),
      ],
      summary: null,
      key: attemptKey,
      preimage: attempt.preimage,
    });
    const { dir: target } = await lifecycle.publish(log, undefined, ctx);
    await writeJsonAtomic(sidecar(workspace), { ...prepared, collected: target });
    process.stdout.write(`collected ${workspace}\n  -> ${target}\n`);
    return 0;
  } catch (error) {
    await lifecycle.abandon();
    if (errnoCode(error) === 'ENOENT') throw new UsageError(`${workspace}: ${(error as Error).message}`);
    throw error;
  }
}
