import { appendFile, mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { type Published, writeRunLog } from '../tasks/write-run-log.js';
import { attemptDirs, highestIndex } from './attempts.js';
import { atPath } from './errors.js';
import type { AttemptRef, EventSink } from './events.js';
import { exists } from './fs-atomic.js';
import {
  claimMarker,
  describeCorrupt,
  holdMarker,
  ownMarker,
  type RunningMarker,
  releaseMarker,
  updateMarker,
} from './markers.js';
import { newAttemptTag } from './processes.js';
import type { Redactor } from './redact.js';
import type { RunLog } from './run-log.js';
import { type StatePaths, uniqueSuffix } from './state.js';
import { type TaskContext, taskKey } from './task.js';

/**
 * The next index to try per model id, for one invocation: eval-attempts/ is listed once per model
 * id, and each claim after that starts where the last one ended, so a claim costs the same at 100
 * and at 10,000 attempts.
 */
export class NextIndex {
  readonly #next = new Map<string, Promise<number>>();

  constructor(private readonly attemptsDir: string) {}

  /** The next candidate index of `modelId`; each call gives the one after. */
  take(modelId: string): Promise<number> {
    const next =
      this.#next.get(modelId) ??
      attemptDirs(this.attemptsDir).then((dirs) => highestIndex(dirs.get(modelId) ?? []) + 1);
    this.#next.set(
      modelId,
      next.then((n) => n + 1),
    );
    return next;
  }
}

/**
 * One attempt from its claim to its publish or its abandon: the running marker that holds its
 * index (see markers.ts), its staging directory under `.pipeline/staging/`, and its lines in the
 * journal. Whatever ends it, the marker is released and nothing of it stays half-written: an
 * abandoned attempt leaves no staging and no attempt directory.
 */
export class AttemptLifecycle {
  #marker: RunningMarker;

  private constructor(
    private readonly paths: StatePaths,
    readonly ref: AttemptRef,
    marker: RunningMarker,
    /** Assembled here; renamed to eval-attempts/<name> when whole. */
    readonly staging: string,
    private readonly redactor: Redactor,
  ) {
    this.#marker = marker;
  }

  get attemptTag(): string {
    return this.#marker.attemptTag!;
  }

  /** A lifecycle of attempt `ref`, its marker not claimed yet. */
  static async #fresh(paths: StatePaths, runId: string, ref: AttemptRef, redactor: Redactor) {
    const staging = join(paths.staging, `${ref.name}.${uniqueSuffix()}`);
    const marker = { ...(await ownMarker(runId, ref.name)), staging, attemptTag: newAttemptTag() };
    return new AttemptLifecycle(paths, ref, marker, staging, redactor);
  }

  /**
   * Takes attempt `ref`: waits while a live invocation holds it, removes a dead owner's marker.
   * Undefined when, by the time it is held, `handled` says there is nothing left to do (another
   * invocation completed it).
   */
  static async claim(
    paths: StatePaths,
    runId: string,
    ref: AttemptRef,
    redactor: Redactor,
    { signal, emit, handled }: { signal: AbortSignal; emit: EventSink; handled: () => Promise<boolean> },
  ): Promise<AttemptLifecycle | undefined> {
    const lifecycle = await AttemptLifecycle.#fresh(paths, runId, ref, redactor);
    const held = await holdMarker(paths, lifecycle.#marker, {
      signal,
      handled,
      onWait: (owner) => emit({ type: 'attempt-waiting', attempt: ref, ownerPid: owner.pid }),
      onCorrupt: (corrupt) =>
        emit({
          type: 'warning',
          message: `${describeCorrupt(corrupt)}: its attempt is not running; removed`,
        }),
    });
    return held ? lifecycle : undefined;
  }

  /**
   * Takes the next index of `modelId` that is neither complete nor held (`--more`, and `collect`
   * of a manual harness). An index held by another invocation, live or dead, is passed over.
   */
  static async claimNext(
    paths: StatePaths,
    runId: string,
    modelId: string,
    refFor: (n: number) => AttemptRef,
    next: NextIndex,
    redactor: Redactor,
  ): Promise<AttemptLifecycle> {
    for (;;) {
      const ref = refFor(await next.take(modelId));
      const dir = join(paths.attempts, ref.name);
      if (await exists(dir)) continue;
      const lifecycle = await AttemptLifecycle.#fresh(paths, runId, ref, redactor);
      if ((await claimMarker(paths, lifecycle.#marker)) !== true) continue;
      // Published by another invocation between the look and the claim.
      if (!(await exists(dir))) return lifecycle;
      await releaseMarker(paths, ref.name);
    }
  }

  /** Records in the marker what runs the attempt (a pid or a container), for a later invocation to stop. */
  async running(what: Partial<RunningMarker>): Promise<void> {
    this.#marker = { ...this.#marker, ...what };
    await updateMarker(this.paths, this.#marker);
  }

  /** Appends to the benchmark's journal (see appendJournal). */
  journal(entry: { event: string } & Record<string, unknown>): Promise<void> {
    return appendJournal(this.paths, this.redactor, {
      attempt: this.ref.name,
      runId: this.#marker.runId,
      ...entry,
    });
  }

  /** What a try that is not a result left (a model-API fault before a retry) is removed. */
  async discardTry(): Promise<void> {
    await rm(this.staging, { recursive: true, force: true });
  }

  /**
   * Writes the run-log into staging and renames staging to eval-attempts/<name> (write-run-log),
   * moving the attempt it replaces into `replaceInto` first; then releases the marker.
   */
  async publish(
    log: RunLog,
    replaceInto: string | undefined,
    ctx: Omit<TaskContext, 'key'>,
  ): Promise<Published> {
    const attemptKey = log.key;
    const published = await atPath(this.staging, () =>
      writeRunLog.run(
        {
          attemptKey,
          log,
          staging: this.staging,
          target: join(this.paths.attempts, this.ref.name),
          replaceInto,
        },
        { ...ctx, key: taskKey(writeRunLog, { attemptKey }) },
      ),
    );
    await releaseMarker(this.paths, this.ref.name);
    return published;
  }

  /** Leaves no trace of an attempt that did not complete: no staging, no marker. */
  async abandon(): Promise<void> {
    await rm(this.staging, { recursive: true, force: true });
    await releaseMarker(this.paths, this.ref.name);
  }
}

/** Appends a line to a benchmark's journal (what `plan` explains a missing attempt with), masked. */
export async function appendJournal(
  paths: StatePaths,
  redactor: Redactor,
  entry: { attempt: string; runId: string; event: string } & Record<string, unknown>,
): Promise<void> {
  const line = redactor.redact(JSON.stringify({ at: new Date().toISOString(), ...entry }));
  await atPath(paths.journal, async () => {
    await mkdir(paths.root, { recursive: true });
    await appendFile(paths.journal, `${line}\n`);
  });
}
