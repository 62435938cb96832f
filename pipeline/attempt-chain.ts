import { appendFile, mkdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Collected, collect, collectedLimitations } from '../tasks/collect.js';
import type { ContainerInput, RunHarnessInput, RuntimeMount } from '../tasks/harness-input.js';
import { homeOf } from '../tasks/harness-process.js';
import { basePathOf } from '../tasks/harnesses/adapter.js';
import { type HarnessRun, runHarness } from '../tasks/run-harness.js';
import type { SeedOutput } from '../tasks/seed-workspace.js';
import { writeRunLog } from '../tasks/write-run-log.js';
import { attemptDirs, attemptName, highestIndex } from './attempts.js';
import { atPath, InfraError, messageOf } from './errors.js';
import type { AttemptRef, EventSink } from './events.js';
import { describeFailure, type Failure, type ModelApiFault } from './failures.js';
import { exists } from './fs-atomic.js';
import { backoffMs } from './gateway/faults.js';
import type { Gateway, GatewayUsage, Lease } from './gateway/server.js';
import { type GatewayAccess, viaGateway } from './harness-env.js';
import type { NodeKey } from './keys.js';
import {
  type CorruptMarker,
  claimMarker,
  describeCorrupt,
  isCorrupt,
  isMarkerAlive,
  ownMarker,
  type RunningMarker,
  readMarkers,
  reapMarker,
  releaseMarker,
  updateMarker,
} from './markers.js';
import type { PackageWatch } from './package-watch.js';
import {
  type AttemptKeyContext,
  type AttemptLine,
  type AttemptPlan,
  attemptKey,
  attemptRef,
  type BenchmarkPlan,
  runHarnessInput,
} from './plan.js';
import { newAttemptTag } from './processes.js';
import type { Redactor } from './redact.js';
import type { RunLog } from './run-log.js';
import { RUN_LOG_FORMAT } from './run-log.js';
import type { SchedulerNode } from './scheduler.js';
import { uniqueSuffix } from './state.js';
import { type TaskContext, taskKey, throwIfAborted } from './task.js';

/** What every attempt chain of one run shares. */
export interface RunContext {
  runId: string;
  timeoutMs: number;
  clean: boolean;
  /** Masks what the run prints and its shared state: every real token of the config. */
  redactor: Redactor;
  /**
   * Masks what one attempt writes (its copy, logs, run-log, kept workspace): only its own
   * harness's token, so another harness's key cannot rewrite this agent's work.
   */
  redactorFor(line: AttemptLine): Redactor;
  /** Files larger than this many bytes stay out of an attempt's copy (config `collect.maxFileSize`). */
  maxFileSize: number;
  emit: EventSink;
  /** The environment the harness of `line` runs with (docker: the container's, nothing of the host's). */
  envFor(line: AttemptLine, mode: 'lite' | 'docker', access: GatewayAccess | undefined): NodeJS.ProcessEnv;
  /** The run's model gateway; undefined when no harness of the run goes through it. */
  gateway: Gateway | undefined;
  /** Times an attempt stopped by a model-API fault is queued again (`--retries`). */
  retries: number;
  /** docker mode: the engine, the pinned image and the limits of a benchmark's containers. */
  containerFor(bp: BenchmarkPlan): ContainerInput | undefined;
  /** docker mode: the engine's version, for run-log. */
  engineVersion: string | undefined;
  /** docker: harness runtimes mounted from their own images, by harness name. */
  runtimes: Map<string, RuntimeMount>;
  /** The one watch of a benchmark's package, shared by its attempts (their windows overlap). */
  packageWatch(bp: BenchmarkPlan): PackageWatch;
}

export const LITE_DEVIATION = 'lite mode, no container isolation; harness ran on host';

/** What an attempt in this mode lacks of full isolation: recorded in every run-log. */
export const isolationDeviations = (mode: 'lite' | 'docker'): string[] =>
  mode === 'lite' ? [LITE_DEVIATION] : [];

/** How often a wait on another invocation's attempt looks again. */
const WAIT_POLL_MS = 200;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });

/** An attempt stopped by the model API: an infrastructure error, never a result. */
const modelApiError = (fault: ModelApiFault) => {
  const failure: Failure = { reason: 'model-api', ...fault };
  return new InfraError(describeFailure(failure), failure);
};

/**
 * One attempt as three scheduler nodes: run-harness (after claiming the attempt number with a
 * running marker) -> collect -> write-run-log (which publishes). Whatever fails or is cancelled
 * along the way, the staging directory and the marker are removed and the attempt stays missing.
 */
export class AttemptChain {
  readonly nodes: SchedulerNode[];
  ref: AttemptRef | undefined;
  #key: NodeKey | undefined;
  #marker: RunningMarker | undefined;
  #staging: string | undefined;
  #run: HarnessRun | undefined;
  #collected: Collected | undefined;
  /** What the gateway measured; undefined when the harness talks to its API directly. */
  #usage: GatewayUsage | undefined;
  /** lite: what the harness changed outside its workspace (see PackageWatch); undefined: not watched. */
  #breaches: string[] | undefined;
  /** Set when there turned out to be nothing to do (another invocation completed it). */
  #skipped = false;
  #abandoned = false;

  constructor(
    private readonly bp: BenchmarkPlan,
    private readonly line: AttemptLine,
    /** The planned attempt, or undefined for a `--more` attempt at the next free index. */
    private readonly planned: AttemptPlan | undefined,
    private readonly keyContext: AttemptKeyContext,
    private readonly rc: RunContext,
    upstream: { pin: SchedulerNode; seed: SchedulerNode; seedOutput: () => SeedOutput },
  ) {
    const label = planned?.ref.name ?? `${line.modelId}-attempt-(next)`;
    const ref = (task: 'run-harness' | 'collect' | 'write-run-log') => ({
      id: `${bp.bench.slug}/${label}/${task}`,
      task,
      benchmark: bp.bench.slug,
      attempt: label,
    });
    const onFailed = (failure: Failure) => this.#abandon(failure);
    const harnessNode: SchedulerNode = {
      ref: ref('run-harness'),
      deps: [upstream.pin, upstream.seed],
      priority: 1,
      run: (signal) => this.#runHarness(signal, upstream.seedOutput()),
      onFailed,
    };
    const collectNode: SchedulerNode = {
      ref: ref('collect'),
      deps: [harnessNode],
      priority: 2,
      finishing: true,
      run: (signal) => this.#collect(signal),
      onFailed,
    };
    const publishNode: SchedulerNode = {
      ref: ref('write-run-log'),
      deps: [collectNode],
      priority: 3,
      finishing: true,
      run: (signal) => this.#publish(signal),
      onFailed,
    };
    this.nodes = [harnessNode, collectNode, publishNode];
  }

  #ctx(signal: AbortSignal, key: NodeKey): TaskContext {
    return { signal, key, emit: this.rc.emit, redactor: this.rc.redactorFor(this.line) };
  }

  /** Takes the attempt number: waits for a live owner, cleans up after a dead one. */
  async #claim(signal: AbortSignal): Promise<boolean> {
    const paths = this.bp.paths;
    if (!this.planned) {
      // --more: the next index that is neither complete nor claimed.
      const complete = (await attemptDirs(paths.attempts)).get(this.line.modelId) ?? new Set<number>();
      const claimed = new Set((await readMarkers(paths)).map((m) => m.attempt));
      for (let n = highestIndex(complete) + 1; ; n++) {
        if (claimed.has(attemptName(this.line.modelId, n)) || complete.has(n)) continue;
        if ((await this.#tryClaim(this.#refFor(n))) === true) return true;
      }
    }
    const ref = this.planned.ref;
    for (;;) {
      throwIfAborted(signal);
      const held = await this.#tryClaim(ref);
      if (held === true) break;
      if (held === undefined) {
        // Released between our link and our read: try again.
      } else if (isCorrupt(held)) {
        this.rc.emit({
          type: 'warning',
          message: `${describeCorrupt(held)}: its attempt is not running; removed`,
        });
        await reapMarker(paths, held);
      } else if (await isMarkerAlive(held)) {
        this.rc.emit({ type: 'attempt-waiting', attempt: ref, ownerPid: held.pid });
        await sleep(WAIT_POLL_MS);
      } else {
        await reapMarker(paths, held);
      }
      if (await this.#alreadyHandled(ref)) {
        this.rc.emit({ type: 'attempt-skipped', attempt: ref, why: 'completed-elsewhere' });
        return false;
      }
    }
    // Between planning and claiming another invocation may have finished it.
    if (await this.#alreadyHandled(ref)) {
      await releaseMarker(paths, ref.name);
      this.#marker = undefined;
      this.rc.emit({ type: 'attempt-skipped', attempt: ref, why: 'completed-elsewhere' });
      return false;
    }
    return true;
  }

  #refFor(n: number): AttemptRef {
    return attemptRef(this.bp.bench.slug, this.line, n);
  }

  /** Whether the planned work is no longer needed: a new attempt exists, or the old one was replaced. */
  async #alreadyHandled(ref: AttemptRef): Promise<boolean> {
    const dir = join(this.bp.paths.attempts, ref.name);
    if (!(await exists(dir))) return false;
    if (this.planned?.action !== 'replace') return true;
    // Replaced already when a valid attempt of another run is there (not what was planned over).
    const now = await this.bp.records.get(ref.name);
    return now !== undefined && now.runId !== this.planned.recorded?.runId;
  }

  async #tryClaim(ref: AttemptRef): Promise<true | RunningMarker | CorruptMarker | undefined> {
    const staging = join(this.bp.paths.staging, `${ref.name}.${uniqueSuffix()}`);
    const marker = { ...(await ownMarker(this.rc.runId, ref.name)), staging, attemptTag: newAttemptTag() };
    await mkdir(this.bp.paths.running, { recursive: true });
    const result = await claimMarker(this.bp.paths, marker);
    if (result === true) {
      this.ref = ref;
      this.#marker = marker;
      this.#staging = staging;
    }
    return result;
  }

  async #runHarness(signal: AbortSignal, seed: SeedOutput): Promise<boolean> {
    if (!(await this.#claim(signal))) {
      this.#skipped = true;
      return true;
    }
    const ref = this.ref!;
    this.#key = this.planned?.key ?? attemptKey(this.line, ref, this.keyContext);
    const input = runHarnessInput(this.line, ref, this.keyContext);
    await this.#journal({ event: 'start', attempt: ref.name, runId: this.rc.runId, key: this.#key.key });
    for (let retry = 0; ; retry++) {
      try {
        await this.#tryHarness(signal, seed, ref, input);
        return false;
      } catch (error) {
        const failure = error instanceof InfraError ? error.failure : undefined;
        if (failure?.reason !== 'model-api' || retry >= this.rc.retries || !this.#retryable(failure))
          throw error;
        if (signal.aborted) throw error;
        // Not a result: what the try left is removed, and the attempt is queued again.
        const waitMs = Math.max(2_000, backoffMs(retry + 2, undefined));
        await this.#journal({
          event: 'error',
          attempt: ref.name,
          runId: this.rc.runId,
          failure,
          retry: retry + 1,
        });
        this.rc.emit({
          type: 'attempt-retry',
          attempt: ref,
          failure,
          retry: retry + 1,
          of: this.rc.retries,
          waitMs,
        });
        await rm(this.#staging!, { recursive: true, force: true });
        await sleep(waitMs, signal);
      }
    }
  }

  /** A refused key is worth another try only on another key; a spent budget never. */
  #retryable(failure: ModelApiFault): boolean {
    if (failure.kind === 'budget') return false;
    return failure.kind !== 'refused' || (this.rc.gateway?.usable(this.line.adapter.keyEnvs) ?? false);
  }

  /** One try of the harness, through the gateway when the harness goes through it. */
  async #tryHarness(
    signal: AbortSignal,
    seed: SeedOutput,
    ref: AttemptRef,
    input: RunHarnessInput,
  ): Promise<void> {
    const { line, bp } = this;
    const lease = await this.#lease(signal);
    const workspaceRoot = join(tmpdir(), 'bench-pipeline', this.rc.runId);
    // lite: the harness could write anywhere; what it changed of the package is recorded.
    const watch = bp.mode === 'lite' ? this.rc.packageWatch(bp) : undefined;
    const watched = await watch?.begin(ref.name);
    let run: HarnessRun | undefined;
    try {
      const gateway = this.rc.gateway;
      const basePath = lease && basePathOf(lease.route.family);
      const baseUrl = lease && gateway && bp.mode === 'lite' ? `${gateway.url}${basePath}` : undefined;
      const access = lease && { capability: lease.capability, baseUrl };
      run = await runHarness.run(
        {
          ...input,
          adapter: baseUrl ? viaGateway(line.adapter, baseUrl) : line.adapter,
          seed,
          workspaceRoot,
          staging: this.#staging!,
          attemptTag: this.#marker!.attemptTag!,
          timeoutMs: this.rc.timeoutMs,
          env: this.rc.envFor(line, bp.mode, access),
          container: this.rc.containerFor(bp),
          stop: lease?.stopped,
          network: bp.bench.manifest.network,
          gateway:
            lease && gateway?.socketDir && bp.mode === 'docker'
              ? { socketDir: gateway.socketDir, basePath: basePathOf(lease.route.family) }
              : undefined,
          onSpawn: async (running, workspace) => {
            this.#marker =
              'pid' in running
                ? { ...this.#marker!, childPid: running.pid, childStart: running.start, workspace }
                : { ...this.#marker!, containerId: running.containerId, workspace };
            await updateMarker(bp.paths, this.#marker);
            this.rc.emit({ type: 'attempt-start', attempt: ref, workspace, at: Date.now() });
          },
        },
        this.#ctx(signal, this.#key!),
      );
    } catch (error) {
      // Stopped for a fault of the API: that, not how the harness ended, is what happened.
      if (!lease?.fault) throw error;
    } finally {
      lease?.release();
      if (!run || lease?.fault) watch?.close(ref.name);
    }
    if (lease?.fault) {
      if (run)
        for (const dir of [run.workspace, homeOf(run.workspace)])
          await rm(dir, { recursive: true, force: true });
      throw modelApiError(lease.fault);
    }
    this.#run = run;
    this.#usage = lease?.usage();
    if (watch && watched) this.#breaches = await watch.end(ref.name, watched);
  }

  /** The attempt's capability on one of its harness's keys, or none when it talks to its API directly. */
  async #lease(signal: AbortSignal): Promise<Lease | undefined> {
    const route = this.line.adapter.gateway;
    const gateway = this.rc.gateway;
    if (!route || !gateway) return undefined;
    const { adapter } = this.line;
    if (gateway.budgetSpent())
      throw modelApiError({
        kind: 'budget',
        harness: adapter.name,
        keyEnv: adapter.keyEnvs[0] ?? '',
        status: null,
        errorType: null,
        upstream: route.upstream,
        requests: 0,
      });
    const got = await gateway.lease(
      {
        harness: adapter.name,
        keyEnvs: adapter.keyEnvs,
        keyConcurrency: adapter.config.keyConcurrency ?? Number.POSITIVE_INFINITY,
        route,
      },
      signal,
    );
    if ('refused' in got) throw modelApiError({ ...got.refused, requests: 0 });
    return got;
  }

  async #collect(signal: AbortSignal): Promise<boolean> {
    if (this.#skipped) return true;
    const key = taskKey(collect, { attemptKey: this.#key!.key });
    const staging = this.#staging!;
    this.#collected = await atPath(staging, () =>
      collect.run(
        { attemptKey: this.#key!.key, run: this.#run!, staging, maxFileSize: this.rc.maxFileSize },
        this.#ctx(signal, key),
      ),
    );
    return false;
  }

  async #publish(signal: AbortSignal): Promise<boolean> {
    if (this.#skipped) return true;
    const ref = this.ref!;
    const run = this.#run!;
    const log = this.#runLog(run, this.#collected!);
    const key = taskKey(writeRunLog, { attemptKey: this.#key!.key });
    const staging = this.#staging!;
    const published = await atPath(staging, () =>
      writeRunLog.run(
        {
          attemptKey: this.#key!.key,
          log,
          staging,
          target: join(this.bp.paths.attempts, ref.name),
          replaceInto: this.planned?.action === 'replace' ? this.bp.paths.replaced : undefined,
        },
        this.#ctx(signal, key),
      ),
    );
    this.rc.packageWatch(this.bp).published(ref.name);
    await this.bp.records.note(ref.name, log);
    await releaseMarker(this.bp.paths, ref.name);
    this.#marker = undefined;
    if (this.rc.clean) {
      for (const dir of [run.workspace, homeOf(run.workspace)])
        await rm(dir, { recursive: true, force: true });
    }
    // Published: the attempt is complete whether or not the journal takes its end.
    await this.#journal({
      event: 'end',
      attempt: ref.name,
      runId: this.rc.runId,
      outcome: run.outcome,
      exitCode: run.exitCode,
    }).catch((error: unknown) => this.#warn(error));
    this.rc.emit({
      type: 'attempt-end',
      result: {
        attempt: ref,
        outcome: run.outcome,
        exitCode: run.exitCode,
        signal: run.signal,
        durationMs: run.durationMs,
        dir: published.dir,
        workspace: this.rc.clean ? undefined : run.workspace,
        isolationBreaches: this.#breaches ?? [],
        costUsd: this.#usage?.costUsd ?? null,
      },
    });
    return false;
  }

  #runLog(run: HarnessRun, collected: Collected): RunLog {
    const { bench } = this.bp;
    const { line } = this;
    const ref = this.ref!;
    const limitations = [...run.logLimitations, ...collectedLimitations(collected)];
    return {
      format: RUN_LOG_FORMAT,
      benchmark: { name: bench.slug, displayName: bench.manifest.display_name ?? bench.slug },
      stateMode: bench.manifest.state_mode,
      baselineSource: this.bp.inventory.baselineSource,
      model: {
        id: line.modelId,
        displayName: `${line.adapter.displayName} / ${line.model ?? 'vendor default'}${line.variant ? ` (${line.variant.name})` : ''}`,
        value: line.model ?? '<vendor-default>',
        source: line.modelSource,
      },
      harness: {
        name: line.adapter.name,
        displayName: line.adapter.displayName,
        cliVersion: line.cliVersion,
        argv: run.argv,
      },
      variant: line.variant?.name ?? null,
      mode: this.bp.mode,
      image: bench.manifest.image ?? null,
      imageDigest: this.bp.pin.digest,
      engine: this.rc.engineVersion ?? null,
      runtime: (this.bp.mode === 'docker' && this.rc.runtimes.get(line.adapter.name)?.image) || null,
      hostRuntimes: this.bp.hostRuntimes,
      attempt: ref.n,
      runId: this.rc.runId,
      workspace: { path: run.workspace, kept: !this.rc.clean },
      startedAt: run.startedAt,
      endedAt: run.endedAt,
      durationMs: run.durationMs,
      outcome: run.outcome,
      exitCode: run.exitCode,
      signal: run.signal,
      timedOut: run.timedOut,
      timeoutMs: this.rc.timeoutMs,
      visibleInputs: bench.manifest.model_visible_files,
      isolationDeviations: isolationDeviations(this.bp.mode),
      ...(this.#breaches && { isolationBreaches: this.#breaches }),
      logLimitations: limitations,
      summary: run.summary,
      gateway: this.#usage
        ? { used: true, ...this.#usage }
        : {
            used: false,
            why: line.adapter.builtIn
              ? 'gateway: false in the config: the CLI talked to its API directly, with the key in its environment'
              : 'a custom harness without `gateway`: it talked to its API directly, with the key in its environment',
          },
      key: this.#key!.key,
      preimage: this.#key!.preimage,
    };
  }

  /**
   * Leaves no trace of an attempt that did not complete: no staging, no marker. Called for the
   * failed node and again for each dependent it stopped; the attempt is reported once, whatever
   * of the cleanup fails (on a full disk the journal cannot take the error: that is a warning).
   */
  async #abandon(failure: Failure): Promise<void> {
    if (this.#abandoned) return;
    this.#abandoned = true;
    const attempt = this.ref ?? this.planned?.ref;
    try {
      if (this.#staging) await rm(this.#staging, { recursive: true, force: true });
      if (this.#marker) {
        await releaseMarker(this.bp.paths, this.#marker.attempt);
        this.#marker = undefined;
      }
      if (attempt && failure.reason !== 'dependency-failed') {
        await this.#journal({ event: 'error', attempt: attempt.name, runId: this.rc.runId, failure }).catch(
          (error: unknown) => this.#warn(error),
        );
      }
    } finally {
      if (attempt) this.rc.emit({ type: 'attempt-error', attempt, failure });
    }
  }

  #warn(error: unknown): void {
    this.rc.emit({ type: 'warning', message: `could not append to the journal: ${messageOf(error)}` });
  }

  async #journal(entry: Record<string, unknown>): Promise<void> {
    const path = this.bp.paths.journal;
    const line = this.rc.redactor.redact(JSON.stringify({ at: new Date().toISOString(), ...entry }));
    await atPath(path, async () => {
      await mkdir(this.bp.paths.root, { recursive: true });
      await appendFile(path, `${line}\n`);
    });
  }
}
