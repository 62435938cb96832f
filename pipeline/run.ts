import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { MODEL_ENV } from '../tasks/harnesses/adapter.js';
import { BUILT_IN_HARNESSES, harnessAdapter } from '../tasks/harnesses/registry.js';
import { pinDigest, pinImage } from '../tasks/pin-digest.js';
import { resolveImage } from '../tasks/resolve-image.js';
import type { RuntimeMount } from '../tasks/run-in-container.js';
import { loadSeed, type SeedOutput, seedWorkspace } from '../tasks/seed-workspace.js';
import { AttemptChain, isolationDeviations, type RunContext } from './attempt-chain.js';
import { parseSize, type ResolvedConfig } from './config.js';
import {
  connectEngine,
  type Engine,
  engineAddress,
  extractRuntime,
  LABELS,
  ownerLabel,
  reapDeadContainers,
} from './docker.js';
import { InfraError, messageOf } from './errors.js';
import type { AttemptResult, EventSink, PipelineEvent, RunSummary } from './events.js';
import { writeLock } from './lock.js';
import {
  describeCorrupt,
  isCorrupt,
  processStart,
  readMarkers,
  reapDeadMarkers,
  reapDeadTemps,
  STAGING_NAME,
} from './markers.js';
import { PackageWatch } from './package-watch.js';
import { type AttemptLine, type BenchmarkPlan, buildPlan, type Plan, type Selection } from './plan.js';
import { preflightEnvironment } from './preflight-environment.js';
import { cacheDir, VersionProbe } from './probe.js';
import { isSecretLike, Redactor } from './redact.js';
import { Scheduler, type SchedulerNode } from './scheduler.js';
import { NodeStore } from './state.js';
import { taskKey } from './task.js';

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
  signal: AbortSignal;
  emit: EventSink;
}

/** `20261123-0915-3fa2`: sortable, unique enough across concurrent invocations. */
export function newRunId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 13);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Every variable that holds a harness token under this config: none of them leaks into another harness. */
export function tokenVariables(config: ResolvedConfig): string[] {
  const names = new Set<string>();
  for (const h of [...BUILT_IN_HARNESSES, ...Object.keys(config.harnesses)]) {
    const tokenEnv = harnessAdapter(h, config.harnesses)?.tokenEnv;
    if (tokenEnv) names.add(tokenEnv);
  }
  return [...names];
}

/**
 * What one attempt writes is masked with its own harness's token only (one redactor per token
 * variable): another harness's key, never in this harness's environment, cannot be in its work.
 */
function harnessRedactors(): (line: AttemptLine) => Redactor {
  const byVariable = new Map<string, Redactor>();
  return ({ adapter: { tokenEnv } }) => {
    const name = tokenEnv ?? '';
    const redactor = byVariable.get(name) ?? new Redactor([tokenEnv && process.env[tokenEnv]]);
    byVariable.set(name, redactor);
    return redactor;
  };
}

/**
 * A harness token set to a placeholder (`test`, `none`) is not masked (see isSecretLike): the run
 * says so, naming the variable but never its value.
 */
function warnPlaceholderTokens(plan: Plan, emit: EventSink): void {
  const told = new Set<string>();
  for (const bp of plan.benchmarks) {
    for (const line of bp.lines) {
      const name = line.adapter.tokenEnv;
      const value = name && process.env[name];
      if (!name || !value || isSecretLike(value) || told.has(name) || !lineHasWork(line)) continue;
      told.add(name);
      emit({
        type: 'warning',
        message: `${name} (${line.adapter.name}'s token) is not a real secret (under 16 characters, or a plain word), so it is not masked in what the run writes`,
      });
    }
  }
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
  const redactor = new Redactor(tokenNames.map((n) => process.env[n]));
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
  };
  const emit: EventSink = (event) => {
    tally(summary, event);
    options.emit(event);
  };

  const watches = new Map<string, PackageWatch>();
  const rc: RunContext = {
    runId,
    timeoutMs: options.timeoutMs ?? config.timeoutMs,
    clean: options.clean,
    redactor,
    redactorFor: harnessRedactors(),
    maxFileSize: parseSize(config.collect.maxFileSize),
    emit,
    envFor: (line, mode) => harnessEnv(line, tokenNames, mode),
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
  emit({ type: 'run-end', summary });
  return summary;
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

/**
 * The harness environment. Lite: the host's, minus every known token variable (a harness sees
 * only its own). Docker: nothing of the host's but base-URL overrides. Then the harness's configured env, the variant's
 * env and its own token.
 */
function harnessEnv(line: AttemptLine, tokenNames: string[], mode: 'lite' | 'docker'): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = mode === 'lite' ? { ...process.env } : {};
  // Docker: of the host's environment only the harness's base-URL overrides (gateways, proxies).
  if (mode === 'docker')
    for (const name of line.adapter.passEnv) if (process.env[name]) env[name] = process.env[name];
  for (const n of tokenNames) delete env[n];
  delete env[MODEL_ENV];
  Object.assign(env, line.adapter.env({ model: line.model, prompt: '', args: [] }), line.variant?.config.env);
  const token = line.adapter.tokenEnv;
  if (token && process.env[token]) env[token] = process.env[token];
  return env;
}

const lineHasWork = (l: AttemptLine) => l.more > 0 || l.attempts.some((a) => a.action !== 'skip');
const hasWork = (bp: BenchmarkPlan) => bp.lines.some(lineHasWork);

/**
 * docker: makes the benchmark's image available (resolve-image) and pins it (pin-digest, which
 * writes runner.lock.yaml), recording both nodes. Benchmarks that share an image resolve it once.
 * Returns the digest every attempt of this run will use.
 */
async function pinBenchmarkImage(
  bp: BenchmarkPlan,
  engine: Engine,
  images: Map<string, Promise<string>>,
  options: RunOptions,
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
async function mountRuntimes(
  plan: Plan,
  engine: Engine,
  options: RunOptions,
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
