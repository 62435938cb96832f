import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pinDigest } from '../tasks/pin-digest.js';
import { resolveImage } from '../tasks/resolve-image.js';
import { loadSeed, type SeedOutput, seedWorkspace } from '../tasks/seed-workspace.js';
import { AttemptChain, isolationDeviations, type RunContext } from './attempt-chain.js';
import { parseSize, type ResolvedConfig } from './config.js';
import { connectEngine, type Engine, engineAddress, LABELS, reapDeadContainers } from './docker.js';
import { messageOf } from './errors.js';
import type { AttemptResult, EventSink, PipelineEvent, RunSummary } from './events.js';
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
import { type BenchmarkPlan, buildPlan, hasWork, lineHasWork, type Selection } from './plan.js';
import { preflightEnvironment } from './preflight-environment.js';
import { VersionProbe } from './probe.js';
import { mountRuntimes, pinBenchmarkImage } from './run-images.js';
import { Scheduler, type SchedulerNode } from './scheduler.js';
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
  let plan = await buildPlan(config, options.selection, {
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

  // docker: resolve and pin the images first; a new pin changes the attempt keys, so plan again.
  const toPin = plan.benchmarks.filter(
    (bp) => bp.mode === 'docker' && (hasWork(bp) || !bp.locked || options.updateImage || options.build),
  );
  let engine: Engine | undefined;
  if (toPin.length) {
    engine = await connectEngine(engineAddress(config.docker.host));
    for (const c of await reapDeadContainers(engine)) {
      const benchmark = c.Labels[LABELS.benchmark] ?? '?';
      const message = `${c.Labels[LABELS.attempt]}: removed container ${c.Names[0] ?? c.Id} left by a dead invocation`;
      options.emit({ type: 'cleanup', benchmark, message });
    }
    const images = new Map<string, Promise<string>>();
    let repinned = false;
    for (const bp of toPin) {
      const digest = await pinBenchmarkImage(bp, engine, images, options, redactor);
      repinned ||= digest !== bp.pin.digest;
    }
    if (repinned)
      plan = await buildPlan(config, options.selection, {
        persist: true,
        probe,
        updateImage: options.updateImage,
      });
  }
  const runtimes = engine ? await mountRuntimes(plan, engine, options, redactor) : new Map();

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
    const rc: RunContext = {
      runId,
      timeoutMs: options.timeoutMs ?? config.timeoutMs,
      clean: options.clean,
      redactor,
      redactorFor: harnessRedactors(),
      maxFileSize: parseSize(config.collect.maxFileSize),
      emit,
      envFor: (line, mode, access) => harnessEnv(line, tokenNames, mode, access),
      gateway,
      retries: options.retries ?? config.retries,
      containerFor: (bp) =>
        engine && bp.mode === 'docker'
          ? {
              engine,
              runtimes,
              image: bp.pin.digest,
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

    const roots: SchedulerNode[] = [];
    let toRun = 0;
    for (const bp of plan.benchmarks) {
      for (const m of await reapDeadMarkers(bp.paths)) {
        if (isCorrupt(m))
          emit({ type: 'warning', message: `${bp.bench.slug}: removed ${describeCorrupt(m)}` });
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
      if (options.updateImage && bp.mode === 'lite') {
        emit({
          type: 'warning',
          message: `${bp.bench.slug}: --update-image has no effect in lite mode (no image is pulled)`,
        });
      }
      const { nodes, count } = benchmarkNodes(bp, rc);
      // Not a spread: three nodes an attempt, and a spread of that many overflows the stack.
      for (const node of nodes) roots.push(node);
      toRun += count;
      for (const line of bp.lines) {
        for (const a of line.attempts) {
          // An invalid directory past the attempts asked for is left alone, and is not one done.
          if (a.action === 'skip' && a.recorded)
            emit({ type: 'attempt-skipped', attempt: a.ref, why: 'complete' });
        }
      }
    }
    const concurrency = options.concurrency ?? config.concurrency;
    emit({
      type: 'run-start',
      runId,
      benchmarks: plan.benchmarks.map((b) => b.bench.slug),
      toRun,
      alreadyDone: summary.alreadyDone,
      concurrency,
    });
    await new Scheduler(concurrency, options.signal, emit).execute(roots);
    for (const bp of plan.benchmarks) {
      // A cache of what the run-logs say: unsaved, the next plan reads them again. The run's
      // attempts are complete or reported either way, so it must not hide the summary.
      await bp.records.save().catch((error: unknown) => {
        emit({ type: 'warning', message: `${bp.bench.slug}: attempt index not saved: ${messageOf(error)}` });
      });
    }
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

/** The nodes of one benchmark: resolve-image, pin-digest and seed-workspace shared by every attempt chain. */
function benchmarkNodes(bp: BenchmarkPlan, rc: RunContext): { nodes: SchedulerNode[]; count: number } {
  const store = new NodeStore(bp.paths, rc.redactor);
  const slug = bp.bench.slug;
  const image = bp.bench.manifest.image ?? null;
  const resolveNode: SchedulerNode = {
    ref: { id: `${slug}/resolve-image`, task: 'resolve-image', benchmark: slug },
    deps: [],
    priority: 0,
    run: async (signal) => {
      if (await store.get('resolve-image', bp.resolve.key.key)) return true;
      // docker images were resolved before the attempts were planned (pinBenchmarkImage).
      const ctx = { signal, key: bp.resolve.key, emit: rc.emit, redactor: rc.redactor };
      const input = { ref: image, mode: bp.mode, context: bp.context };
      const none = { engine: undefined, locked: undefined, build: false, update: false };
      await store.set('resolve-image', bp.resolve.key, await resolveImage.run({ ...input, ...none }, ctx));
      return false;
    },
  };
  const pinNode: SchedulerNode = {
    ref: { id: `${slug}/pin-digest`, task: 'pin-digest', benchmark: slug },
    deps: [resolveNode],
    priority: 0,
    run: async (signal) => {
      if (await store.get('pin-digest', bp.pin.key.key)) return true;
      const ctx = { signal, key: bp.pin.key, emit: rc.emit, redactor: rc.redactor };
      const input = { resolveKey: bp.resolve.key.key, ref: image, digest: bp.pin.digest };
      await store.set('pin-digest', bp.pin.key, await pinDigest.run(input, ctx));
      return false;
    },
  };
  let seedOutput: SeedOutput | undefined;
  const seedNode: SchedulerNode = {
    ref: { id: `${slug}/seed-workspace`, task: 'seed-workspace', benchmark: slug },
    deps: [],
    priority: 0,
    run: async (signal) => {
      const key = bp.seed.key;
      seedOutput = await loadSeed(bp.paths, key.key, (message) =>
        rc.emit({ type: 'warning', message: `${slug}: ${message}` }),
      );
      const cached = seedOutput !== undefined;
      if (!seedOutput) {
        const ctx = { signal, key, emit: rc.emit, redactor: rc.redactor };
        seedOutput = await seedWorkspace.run(
          { stateMode: bp.bench.manifest.state_mode, inventory: bp.inventory, paths: bp.paths },
          ctx,
        );
      }
      // The record keeps the preimage (every file's hash), which explains later staleness.
      if (!(await store.get('seed-workspace', key.key))) {
        await store.set('seed-workspace', key, { files: seedOutput.files });
      }
      return cached;
    },
  };
  const keyContext = {
    seedKey: bp.seed.key.key,
    pinKey: bp.pin.key.key,
    mode: bp.mode,
    digest: bp.pin.digest,
    hostRuntimes: bp.hostRuntimes,
  };
  const nodes: SchedulerNode[] = [];
  let count = 0;
  const upstream = { pin: pinNode, seed: seedNode, seedOutput: () => seedOutput! };
  for (const line of bp.lines) {
    const chains = [
      ...line.attempts.filter((a) => a.action !== 'skip'),
      ...Array.from({ length: line.more }, () => undefined),
    ];
    for (const planned of chains) {
      const chain = new AttemptChain(bp, line, planned, keyContext, rc, upstream);
      nodes.push(...chain.nodes);
      count++;
    }
  }
  // With nothing to run, the shared nodes still run (cheaply) so the state is complete.
  if (nodes.length === 0) nodes.push(...(bp.mode === 'lite' ? [pinNode] : []), seedNode);
  return { nodes, count };
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
    default:
      break;
  }
}

/** 0: everything asked for is complete; 1: an attempt failed or timed out, or an infrastructure error. */
export function exitCodeOf(summary: RunSummary): number {
  const bad = summary.failed.length + summary.timedOut.length + summary.errors.length;
  return bad > 0 || summary.cancelled ? 1 : 0;
}
