import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { RuntimeMount } from '../tasks/harness-input.js';
import type { PinDigestOutput } from '../tasks/pin-digest.js';
import type { ResolveImageOutput } from '../tasks/resolve-image.js';
import type { SeedOutput } from '../tasks/seed-workspace.js';
import { NextIndex } from './attempt-lifecycle.js';
import { Attempt, type AttemptUpstream } from './attempt-steps.js';
import { BenchmarkSteps } from './benchmark-steps.js';
import { parseSize, type ResolvedConfig } from './config.js';
import { connectEngine, engineAddress, LABELS, reapDeadContainers } from './docker.js';
import { messageOf } from './errors.js';
import type { AttemptResult, EventSink, PipelineEvent, RunSummary } from './events.js';
import { Executor } from './executor.js';
import { describeFailure } from './failures.js';
import { buildGraph, type GraphNode, isAttemptNode } from './graph.js';
import {
  configRedactor,
  harnessEnv,
  harnessRedactors,
  tokenVariables,
  warnPlaceholderTokens,
} from './harness-env.js';
import {
  describeCorrupt,
  isCorrupt,
  readMarkers,
  reapDeadMarkers,
  reapDeadTemps,
  STAGING_NAME,
} from './markers.js';
import { PackageWatch } from './package-watch.js';
import { type BenchmarkPlan, buildPlan, hasWork, lineHasWork, type Plan } from './plan.js';
import { preflightEnvironment } from './preflight-environment.js';
import { VersionProbe } from './probe.js';
import { isolationDeviations, type RunContext, runTempDir } from './run-context.js';
import { scoringOf } from './score-plan.js';
import { scoreStep } from './score-steps.js';
import type { Selection } from './selection.js';
import { NodeStore } from './state.js';

export interface RunOptions {
  selection: Selection;
  runId: string | undefined;
  concurrency: number | undefined;
  timeoutMs: number | undefined;
  clean: boolean;
  /** Re-resolve the image instead of using the locked digest (docker mode). */
  updateImage: boolean;
  /** Build the image from the benchmark's Dockerfile even when it is present (docker mode). */
  build: boolean;
  /** Times an attempt stopped by a model-API fault is queued again; default config `retries`. */
  retries: number | undefined;
  /** USD; default config `budget`. */
  maxCostUsd: number | undefined;
  /** `--score`: each attempt is scored into eval-results/ once it is complete, in the same graph. */
  score?: boolean;
  signal: AbortSignal;
  emit: EventSink;
}

/** `20261123-0915-3fa2`: sortable, unique enough across concurrent invocations. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 13);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/**
 * `run`: makes the selected attempts complete, running only what is missing (or asked to be
 * replaced), and reports through events. Returns the summary; the CLI turns it into an exit code.
 */
export async function runPipeline(config: ResolvedConfig, options: RunOptions): Promise<RunSummary> {
  const runId = options.runId ?? newRunId();
  const probe = await new VersionProbe().load();
  const plan = await buildPlan(config, options.selection, {
    persist: true,
    probe,
    updateImage: options.updateImage,
  });
  const tokenNames = tokenVariables(config);
  // What the run prints and its shared state: every real token of the config.
  const redactor = configRedactor(config);
  await preflightEnvironment(plan, options.emit);
  await probe.save();
  warnPlaceholderTokens(plan, options.emit);
  // --score: each benchmark's scorecard and checks, refused now (exit 2) if it cannot be scored.
  const scorings = options.score
    ? new Map(
        await Promise.all(
          plan.benchmarks.map(async (bp) => [bp.bench.slug, await scoringOf(bp.bench)] as const),
        ),
      )
    : undefined;
  const graph = buildGraph(plan, scorings);
  const skip = skipOf(plan, options);

  // docker: the engine, when a node of the run needs one.
  const docker = new Set(plan.benchmarks.filter((b) => b.mode === 'docker').map((b) => b.bench.slug));
  const needsEngine = graph.nodes.some(
    (n) => docker.has(n.benchmark) && n.task !== 'seed-workspace' && !skip(n),
  );
  const engine = needsEngine ? await connectEngine(engineAddress(config.docker.host)) : undefined;
  if (engine) {
    for (const c of await reapDeadContainers(engine)) {
      const benchmark = c.Labels[LABELS.benchmark] ?? '?';
      const message = `${c.Labels[LABELS.attempt]}: removed container ${c.Names[0] ?? c.Id} left by a dead invocation`;
      options.emit({ type: 'cleanup', benchmark, message });
    }
  }

  const summary: RunSummary = {
    runId,
    succeeded: [],
    failed: [],
    timedOut: [],
    alreadyDone: 0,
    errors: [],
    cancelled: false,
    workspaces: [],
    isolationDeviations: [],
    isolationBreaches: [],
    outputDirs: [],
    spentUsd: null,
    tempDir: null,
    scored: options.score ? 0 : null,
    scoreErrors: [],
  };
  const emit: EventSink = (event) => {
    tally(summary, event);
    options.emit(event);
  };

  // One gateway for the invocation, when any attempt to run goes through it.
  const throughGateway = plan.benchmarks.flatMap((bp) =>
    bp.lines.filter((l) => l.adapter.gateway && lineHasWork(l)).map(() => bp.mode),
  );
  // Loaded only then: a run of custom harnesses alone does not pay for it.
  const gateway = throughGateway.length
    ? await (await import('./gateway/server.js')).Gateway.start({
        retryWindowMs: config.retryWindowMs,
        budgetUsd: options.maxCostUsd ?? config.budget,
        prices: config.prices,
        socket: throughGateway.includes('docker'),
        emit,
      })
    : undefined;
  try {
    const watches = new Map<string, PackageWatch>();
    const nextIndices = new Map<string, NextIndex>();
    const runtimes = new Map<string, RuntimeMount>();
    const rc: RunContext = {
      runId,
      signal: options.signal,
      timeoutMs: options.timeoutMs ?? config.timeoutMs,
      clean: options.clean,
      redactor,
      redactorFor: harnessRedactors(),
      maxFileSize: parseSize(config.collect.maxFileSize),
      emit,
      envFor: (line, mode, access) => harnessEnv(line, tokenNames, mode, access),
      gateway,
      retries: options.retries ?? config.retries,
      rerun: options.selection.rerun,
      nextIndex: (bp) => {
        let next = nextIndices.get(bp.bench.slug);
        if (!next) {
          next = new NextIndex(bp.paths.attempts);
          nextIndices.set(bp.bench.slug, next);
        }
        return next;
      },
      containerFor: (bp, digest) =>
        engine && bp.mode === 'docker'
          ? {
              engine,
              runtimes,
              image: digest,
              runId,
              cpus: config.docker.cpus,
              memoryBytes: config.docker.memory === undefined ? undefined : parseSize(config.docker.memory),
            }
          : undefined,
      engineVersion: engine?.version,
      runtimes,
      packageWatch: (bp) => {
        let watch = watches.get(bp.bench.slug);
        if (!watch) {
          watch = new PackageWatch(bp.bench.dir, bp.paths.attempts);
          watches.set(bp.bench.slug, watch);
        }
        return watch;
      },
    };

    for (const bp of plan.benchmarks) {
      await cleanUpAfterDead(bp, emit);
      if (options.updateImage && bp.mode === 'lite') {
        emit({
          type: 'warning',
          message: `${bp.bench.slug}: --update-image has no effect in lite mode (no image is pulled)`,
        });
      }
      for (const line of bp.lines) {
        for (const a of line.attempts) {
          // An invalid directory past the attempts asked for is left alone, and is not one done.
          if (a.action === 'skip' && a.recorded)
            emit({ type: 'attempt-skipped', attempt: a.ref, why: 'complete' });
        }
      }
    }
    const toRun = graph.nodes.filter((n) => n.task === 'run-harness' && !skip(n)).length;
    const concurrency = options.concurrency ?? config.concurrency;
    emit({
      type: 'run-start',
      runId,
      benchmarks: plan.benchmarks.map((b) => b.bench.slug),
      toRun,
      alreadyDone: summary.alreadyDone,
      concurrency,
    });
    const plans = new Map(plan.benchmarks.map((bp) => [bp.bench.slug, bp]));
    const stores = new Map(plan.benchmarks.map((bp) => [bp.bench.slug, new NodeStore(bp.paths, redactor)]));
    const shared = new BenchmarkSteps({
      engine,
      updateImage: options.updateImage,
      build: options.build,
      emit,
    });
    const attempts = new Map<string, Attempt>();
    const id = (bp: BenchmarkPlan, task: string) => `${bp.bench.slug}/${task}`;
    await new Executor({
      emit,
      storeOf: (benchmark) => stores.get(benchmark)!,
      redactorOf: (node) => (isAttemptNode(node) ? rc.redactorFor(node.input.line) : redactor),
      stepOf: (node, outputs) => {
        const bp = plans.get(node.benchmark)!;
        const store = stores.get(node.benchmark)!;
        switch (node.task) {
          case 'resolve-image':
            return shared.resolve(bp, node.input);
          case 'pin-digest':
            return shared.pin(bp, node.input, () => outputs(node.deps[0]!) as ResolveImageOutput, store);
          case 'seed-workspace':
            return shared.seed(bp, node.input, store);
          case 'mount-runtime':
            return shared.runtime(node.input, runtimes);
          case 'score-attempt':
            return scoreStep(node, { runId, engine, emit, signal: options.signal }, () =>
              outputs(node.deps[0]!),
            );
          default: {
            const label = `${node.benchmark}/${node.attempt}`;
            let attempt = attempts.get(label);
            if (!attempt) {
              attempt = new Attempt(bp, node.input.line, node.input.planned, rc);
              attempts.set(label, attempt);
            }
            const upstream =
              node.task === 'run-harness'
                ? (): AttemptUpstream => ({
                    digest: (outputs(id(bp, 'pin-digest')) as PinDigestOutput).digest,
                    seed: outputs(id(bp, 'seed-workspace')) as SeedOutput,
                  })
                : () => outputs(node.deps[0]!);
            return attempt.stepOf(node.task, upstream);
          }
        }
      },
    }).execute(graph, { concurrency, signal: options.signal, skip });
    for (const bp of plan.benchmarks) {
      // A cache of what the run-logs say: unsaved, the next plan reads them again. The run's
      // attempts are complete or reported either way, so it must not hide the summary.
      await bp.records.save().catch((error: unknown) => {
        emit({ type: 'warning', message: `${bp.bench.slug}: attempt index not saved: ${messageOf(error)}` });
      });
    }
    // Empty, nothing of the run is left in its temp dir; else it holds the agents' homes at least.
    const tempDir = runTempDir(runId);
    await rmdir(tempDir).catch(() => {});
    summary.tempDir = existsSync(tempDir) ? tempDir : null;
    summary.cancelled = options.signal.aborted;
    if (toRun > 0)
      summary.isolationDeviations = [...new Set(plan.benchmarks.flatMap((b) => isolationDeviations(b.mode)))];
    summary.outputDirs = plan.benchmarks.map((b) => b.paths.attempts);
    summary.spentUsd = gateway ? gateway.spentUsd : null;
    emit({ type: 'run-end', summary });
    return summary;
  } finally {
    await gateway?.close();
  }
}

/**
 * Which nodes of the graph `run` leaves out: the attempts the plan found complete (their lookup
 * is done), and the image of a docker benchmark with nothing to run whose image is pinned (no
 * engine is needed then). The rest of a benchmark's shared nodes run even with nothing to run,
 * cheaply, so its state is whole: the seed, lite mode's pin, an image not pinned yet.
 */
function skipOf(plan: Plan, options: RunOptions): (node: GraphNode) => boolean {
  const pinned = new Set(
    plan.benchmarks
      .filter(
        (bp) => bp.mode === 'docker' && !hasWork(bp) && bp.locked && !options.updateImage && !options.build,
      )
      .map((bp) => bp.bench.slug),
  );
  return (node) =>
    isAttemptNode(node)
      ? node.action === 'skip'
      : pinned.has(node.benchmark) && (node.task === 'resolve-image' || node.task === 'pin-digest');
}

/** What dead invocations left of a benchmark: their markers, staging directories and temp files. */
async function cleanUpAfterDead(bp: BenchmarkPlan, emit: EventSink): Promise<void> {
  for (const m of await reapDeadMarkers(bp.paths)) {
    if (isCorrupt(m)) emit({ type: 'warning', message: `${bp.bench.slug}: removed ${describeCorrupt(m)}` });
    else
      emit({
        type: 'cleanup',
        benchmark: bp.bench.slug,
        message: `${m.attempt}: removed what dead invocation ${m.pid} left (run ${m.runId})`,
      });
  }
  // Staging directories of dead owners that no marker claims (a marker names its staging).
  const claimed = new Set((await readMarkers(bp.paths)).flatMap((m) => (m.staging ? [m.staging] : [])));
  await reapDeadTemps([bp.paths.staging], STAGING_NAME, claimed);
  const recordDirs = (await readdir(bp.paths.nodes).catch(() => [] as string[])).map((t) =>
    join(bp.paths.nodes, t),
  );
  await reapDeadTemps([bp.paths.root, bp.paths.running, bp.paths.seeds, ...recordDirs]);
}

function tally(summary: RunSummary, event: PipelineEvent): void {
  switch (event.type) {
    case 'attempt-end': {
      const r: AttemptResult = event.result;
      const bucket =
        r.outcome === 'succeeded'
          ? summary.succeeded
          : r.outcome === 'failed'
            ? summary.failed
            : summary.timedOut;
      bucket.push(r);
      if (r.workspace) summary.workspaces.push(r.workspace);
      for (const b of r.isolationBreaches)
        summary.isolationBreaches.push(`${r.attempt.benchmark}/${r.attempt.name}: ${b}`);
      break;
    }
    case 'attempt-skipped':
      summary.alreadyDone++;
      break;
    case 'attempt-error':
      summary.errors.push({ attempt: event.attempt, failure: event.failure });
      break;
    case 'attempt-scored':
      if (event.result !== 'elsewhere' && summary.scored !== null) summary.scored++;
      break;
    case 'node-failed':
      // A score not made because its attempt was not is that attempt's error, told already.
      if (event.node.task === 'score-attempt' && event.failure.reason !== 'dependency-failed')
        summary.scoreErrors.push(
          `${event.node.benchmark}/${event.node.attempt}: ${describeFailure(event.failure)}`,
        );
      break;
    default:
      break;
  }
}

/** 0: everything asked for is complete; 1: an attempt failed or timed out, or an infrastructure error. */
export function exitCodeOf(summary: RunSummary): number {
  const bad =
    summary.failed.length + summary.timedOut.length + summary.errors.length + summary.scoreErrors.length;
  return bad > 0 || summary.cancelled ? 1 : 0;
}
