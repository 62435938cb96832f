import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Collected, collect, collectedLimitations, movedWorkspace } from '../tasks/collect.js';
import { homeOf } from '../tasks/harness-process.js';
import { pinDigest } from '../tasks/pin-digest.js';
import type { SeedOutput } from '../tasks/seed-workspace.js';
import type { Published } from '../tasks/write-run-log.js';
import { AttemptLifecycle, appendJournal } from './attempt-lifecycle.js';
import type { AttemptRecord } from './attempt-records.js';
import { atPath, InfraError, messageOf } from './errors.js';
import type { AttemptRef } from './events.js';
import type { Step } from './executor.js';
import type { Failure } from './failures.js';
import { exists } from './fs-atomic.js';
import { backoffMs } from './gateway/faults.js';
import { type AttemptNode, collectKey, writeRunLogKey } from './graph.js';
import { type AttemptOf, type HarnessTry, retryable, tryHarness } from './harness-try.js';
import type { NodeKey } from './keys.js';
import { sleep } from './markers.js';
import {
  type AttemptKeyContext,
  type AttemptLine,
  type AttemptPlan,
  attemptKey,
  attemptRef,
  type BenchmarkPlan,
  runHarnessInput,
} from './plan.js';
import { isolationDeviations, type RunContext } from './run-context.js';
import { type RunLog, runLogOf } from './run-log.js';
import { type TaskContext, taskKey } from './task.js';

/** What an attempt's run-harness node gives its collect: the harness run, or nothing to do. */
export type AttemptRan =
  | { skipped: true }
  | ({
      skipped: false;
      lifecycle: AttemptLifecycle;
      key: NodeKey;
      /** The image it ran on: the pinned digest (docker), or LITE_DIGEST. */
      digest: string;
    } & HarnessTry);

/** What collect gives write-run-log. */
type AttemptCollected =
  | { skipped: true }
  | { skipped: false; ran: Extract<AttemptRan, { skipped: false }>; collected: Collected };

/** What the pin-digest and seed-workspace nodes give an attempt. */
export interface AttemptUpstream {
  digest: string;
  seed: SeedOutput;
}

/**
 * The steps of one attempt's three nodes (see graph.ts): run-harness claims the attempt's index
 * (its lookup: an attempt completed meanwhile is a hit), runs the harness and retries it after a
 * model-API fault; collect copies the workspace into staging; write-run-log publishes. Whatever
 * fails or is cancelled along the way, the attempt is abandoned once (no staging, no marker) and
 * reported once.
 */
export class Attempt implements AttemptOf {
  /** Held from the claim to the publish or the abandon. */
  #lifecycle: AttemptLifecycle | undefined;
  #reported = false;

  constructor(
    readonly bp: BenchmarkPlan,
    readonly line: AttemptLine,
    /** The planned attempt, or undefined for a `--more` attempt at the next free index. */
    private readonly planned: AttemptPlan | undefined,
    readonly rc: RunContext,
  ) {}

  stepOf(task: AttemptNode['task'], upstream: () => unknown): Step {
    const onFailed = (failure: Failure) => this.#abandon(failure);
    switch (task) {
      case 'run-harness': {
        let key: NodeKey | undefined;
        return {
          key: () => {
            key = this.planned && this.#keyOf(this.planned.ref, upstream() as AttemptUpstream);
            return key;
          },
          lookup: async () =>
            (await this.#claim(this.rc.signal, key)) ? undefined : { output: { skipped: true } },
          run: () => this.#runHarness(upstream() as AttemptUpstream, key),
          // The attempt is recorded by its run-log in eval-attempts/, not here.
          stored: false,
          onFailed,
        };
      }
      case 'collect':
        return {
          key: () => {
            const ran = upstream() as AttemptRan;
            return ran.skipped ? undefined : collectKey(ran.key.key);
          },
          lookup: async () =>
            (upstream() as AttemptRan).skipped ? { output: { skipped: true } } : undefined,
          run: (context) => this.#collect(upstream() as Extract<AttemptRan, { skipped: false }>, context),
          record: (out) => (out as Extract<AttemptCollected, { skipped: false }>).collected,
          onFailed,
        };
      case 'write-run-log':
        return {
          key: () => {
            const done = upstream() as AttemptCollected;
            return done.skipped ? undefined : writeRunLogKey(done.ran.key.key);
          },
          lookup: async () =>
            (upstream() as AttemptCollected).skipped ? { output: { skipped: true } } : undefined,
          run: () => this.#publish(upstream() as Extract<AttemptCollected, { skipped: false }>),
          onFailed,
        };
    }
  }

  /** The attempt key of `ref`, from the digest the pin-digest node pinned. */
  #keyOf(ref: AttemptRef, { digest }: AttemptUpstream): NodeKey {
    return attemptKey(this.line, ref, this.#keyContext(digest));
  }

  #keyContext(digest: string): AttemptKeyContext {
    const { bp } = this;
    const image = bp.bench.manifest.image ?? null;
    const pinKey = taskKey(pinDigest, { resolveKey: bp.resolve.key.key, ref: image, digest }).key;
    return { seedKey: bp.seed.key.key, pinKey, mode: bp.mode, digest, hostRuntimes: bp.hostRuntimes };
  }

  /**
   * Takes the attempt's index; false when there is nothing left to do: another invocation
   * completed it, or (an image pinned only now) the attempt is complete under its real key.
   */
  async #claim(signal: AbortSignal, key: NodeKey | undefined): Promise<boolean> {
    const { bp, rc, planned } = this;
    // The journal is the benchmark's: masked with every token of the run.
    const redactor = rc.redactor;
    if (!planned) {
      this.#lifecycle = await AttemptLifecycle.claimNext(
        bp.paths,
        rc.runId,
        this.line.modelId,
        (n) => attemptRef(bp.bench.slug, this.line, n),
        rc.nextIndex(bp),
        redactor,
      );
      return true;
    }
    if (planned.recorded && key && key.key !== planned.key.key && !this.#replacing(planned.recorded, key)) {
      rc.emit({ type: 'attempt-skipped', attempt: planned.ref, why: 'complete' });
      return false;
    }
    this.#lifecycle = await AttemptLifecycle.claim(bp.paths, rc.runId, planned.ref, redactor, {
      signal,
      emit: rc.emit,
      handled: () => this.#alreadyHandled(planned.ref),
    });
    if (!this.#lifecycle)
      rc.emit({ type: 'attempt-skipped', attempt: planned.ref, why: 'completed-elsewhere' });
    return this.#lifecycle !== undefined;
  }

  /** Planned before its image was pinned: whether `--rerun` asks for the complete attempt again under its real key. */
  #replacing(recorded: AttemptRecord, key: NodeKey): boolean {
    if (recorded.key !== key.key) return this.rc.rerun.includes('stale');
    return recorded.outcome !== 'succeeded' && this.rc.rerun.includes(recorded.outcome);
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

  /** `known`: the planned attempt's key, from the node's key; a `--more` attempt's is made here, once its index is claimed. */
  async #runHarness(upstream: AttemptUpstream, known: NodeKey | undefined): Promise<AttemptRan> {
    const lifecycle = this.#lifecycle!;
    const { ref } = lifecycle;
    const ctx = this.#keyContext(upstream.digest);
    const key = known ?? attemptKey(this.line, ref, ctx);
    const input = runHarnessInput(this.line, ref, ctx);
    const { signal } = this.rc;
    await lifecycle.journal({ event: 'start', key: key.key });
    for (let retry = 0; ; retry++) {
      try {
        const tried = await tryHarness(this, upstream, lifecycle, input, key);
        return { skipped: false, lifecycle, key, digest: upstream.digest, ...tried };
      } catch (error) {
        const failure = error instanceof InfraError ? error.failure : undefined;
        if (failure?.reason !== 'model-api' || retry >= this.rc.retries || !retryable(failure, this))
          throw error;
        if (signal.aborted) throw error;
        // Not a result: what the try left is removed, and the attempt is queued again.
        const waitMs = Math.max(2_000, backoffMs(retry + 2, undefined));
        await lifecycle.journal({ event: 'error', failure, retry: retry + 1 });
        this.rc.emit({
          type: 'attempt-retry',
          attempt: ref,
          failure,
          retry: retry + 1,
          of: this.rc.retries,
          waitMs,
        });
        await lifecycle.discardTry();
        await sleep(waitMs, signal);
      }
    }
  }

  async #collect(
    ran: Extract<AttemptRan, { skipped: false }>,
    context: (key: NodeKey) => TaskContext,
  ): Promise<AttemptCollected> {
    const { staging } = ran.lifecycle;
    const collected = await atPath(staging, () =>
      collect.run(
        {
          attemptKey: ran.key.key,
          run: ran.run,
          staging,
          maxFileSize: this.rc.maxFileSize,
          transfer: 'move',
        },
        { ...context(collectKey(ran.key.key)), redactor: this.rc.redactorFor(this.line) },
      ),
    );
    return { skipped: false, ran, collected };
  }

  async #publish({ ran, collected }: Extract<AttemptCollected, { skipped: false }>): Promise<Published> {
    const { lifecycle, run } = ran;
    const { ref } = lifecycle;
    const { rc, bp } = this;
    const log = this.#runLog(ran, collected);
    const replaceInto = this.planned?.action === 'replace' ? bp.paths.replaced : undefined;
    const published = await lifecycle.publish(log, replaceInto, {
      signal: rc.signal,
      emit: rc.emit,
      redactor: rc.redactorFor(this.line),
    });
    this.#lifecycle = undefined;
    rc.packageWatch(bp).published(ref.name);
    await bp.records.note(ref.name, log);
    if (rc.clean) {
      for (const dir of [run.workspace, homeOf(run.workspace)])
        await rm(dir, { recursive: true, force: true });
    }
    // Published: the attempt is complete whether or not the journal takes its end.
    await lifecycle
      .journal({ event: 'end', outcome: run.outcome, exitCode: run.exitCode })
      .catch((error: unknown) => this.#warn(error));
    this.#reported = true;
    rc.emit({
      type: 'attempt-end',
      result: {
        attempt: ref,
        outcome: run.outcome,
        exitCode: run.exitCode,
        signal: run.signal,
        durationMs: run.durationMs,
        dir: published.dir,
        workspace: log.workspace.kept ? run.workspace : undefined,
        isolationBreaches: ran.breaches ?? [],
        costUsd: ran.usage?.costUsd ?? null,
      },
    });
    return published;
  }

  #runLog(
    { lifecycle, run, key, digest, usage, breaches }: Extract<AttemptRan, { skipped: false }>,
    collected: Collected,
  ): RunLog {
    const { bench } = this.bp;
    const { line } = this;
    const { ref } = lifecycle;
    const limitations = [...run.logLimitations, ...collectedLimitations(collected)];
    return runLogOf(bench, {
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
      imageDigest: digest,
      engine: this.rc.engineVersion ?? null,
      runtime: (this.bp.mode === 'docker' && this.rc.runtimes.get(line.adapter.name)?.image) || null,
      hostRuntimes: this.bp.hostRuntimes,
      attempt: ref.n,
      runId: this.rc.runId,
      workspace: movedWorkspace(run.workspace, collected, this.rc.clean),
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
      ...(breaches && { isolationBreaches: breaches }),
      logLimitations: limitations,
      summary: run.summary,
      gateway: usage
        ? { used: true, ...usage }
        : {
            used: false,
            why: line.adapter.builtIn
              ? 'gateway: false in the config: the CLI talked to its API directly, with the key in its environment'
              : 'a custom harness without `gateway`: it talked to its API directly, with the key in its environment',
          },
      key: key.key,
      preimage: key.preimage,
    });
  }

  /**
   * Leaves no trace of an attempt that did not complete (see AttemptLifecycle.abandon). Called
   * for the failed node and again for each dependent it stopped; the attempt is reported once,
   * whatever of the cleanup fails (on a full disk the journal cannot take the error: a warning).
   */
  async #abandon(failure: Failure): Promise<void> {
    if (this.#reported) return;
    this.#reported = true;
    const lifecycle = this.#lifecycle;
    this.#lifecycle = undefined;
    const attempt = lifecycle?.ref ?? this.planned?.ref;
    try {
      await lifecycle?.abandon();
      if (attempt && failure.reason !== 'dependency-failed') {
        await appendJournal(this.bp.paths, this.rc.redactor, {
          event: 'error',
          attempt: attempt.name,
          runId: this.rc.runId,
          failure,
        }).catch((error: unknown) => this.#warn(error));
      }
    } finally {
      if (attempt) this.rc.emit({ type: 'attempt-error', attempt, failure });
    }
  }

  #warn(error: unknown): void {
    this.rc.emit({ type: 'warning', message: `could not append to the journal: ${messageOf(error)}` });
  }
}
