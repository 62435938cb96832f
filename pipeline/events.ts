import type { TaskName } from './task.js';

/** Identifies one attempt: benchmark x harness x model x variant x n. */
export interface AttemptRef {
  benchmark: string;
  /** `<model-id>-attempt-<n>`, the directory name under eval-attempts/. */
  name: string;
  modelId: string;
  n: number;
  harness: string;
  /** The resolved model, or undefined for the vendor default. */
  model: string | undefined;
  variant: string | undefined;
}

/** How a finished harness run ended. All three are results: the attempt is complete. */
export type Outcome = 'succeeded' | 'failed' | 'timed-out';

/**
 * Why a node could not produce its output. These are not attempt results: the attempt stays
 * missing and a later run tries again.
 */
export type Failure =
  | { reason: 'cancelled' }
  | { reason: 'dependency-failed'; dependency: string }
  | { reason: 'harness-not-found'; program: string }
  | { reason: 'spawn-failed'; message: string }
  | { reason: 'io'; message: string }
  | { reason: 'docker'; message: string }
  | ({ reason: 'model-api' } & ModelApiFault)
  | { reason: 'unknown'; message: string };

/**
 * A fault of the model API as the gateway saw it on the wire. Never an attempt result: the
 * attempt stays missing, and `--retries` re-queues it (but a refused key or a spent budget).
 */
export interface ModelApiFault {
  /**
   * refused: 401/402/403, the key is refused; outage: transient faults that outlasted the retry
   * window; unhealed: an answer that left the attempt without a fair chance (a model not found);
   * stream-cut: a response cut mid-stream; budget: `--max-cost` spent.
   */
  kind: 'refused' | 'outage' | 'unhealed' | 'stream-cut' | 'budget';
  harness: string;
  /** The host variable of the key the attempt used (never its value). */
  keyEnv: string;
  /** The last upstream status, or null when no response came (a connection error). */
  status: number | null;
  /** The API's error type (`authentication_error`, `overloaded_error`) or the network error code. */
  errorType: string | null;
  upstream: string;
  /** Model requests of the attempt so far, retries included. */
  requests: number;
}

export interface NodeRef {
  id: string;
  task: TaskName;
  benchmark: string;
  attempt?: string;
}

export interface RunSummary {
  runId: string;
  /** Attempts this run completed, by outcome. */
  succeeded: AttemptResult[];
  failed: AttemptResult[];
  timedOut: AttemptResult[];
  /** Attempts that were complete before this run (or were completed by another invocation). */
  alreadyDone: number;
  /** Attempts that stay missing because of infrastructure errors or cancellation. */
  errors: { attempt: AttemptRef; failure: Failure }[];
  cancelled: boolean;
  /** Temp workspaces left in place (all of them unless --clean). */
  workspaces: string[];
  isolationDeviations: string[];
  /** `<benchmark>/<attempt>: <breach>`: what attempts changed outside their workspace (lite). */
  isolationBreaches: string[];
  /** The eval-attempts/ directories that hold this run's output. */
  outputDirs: string[];
  /** USD the run's model traffic cost, as the gateway measured it (priced calls only); null without a gateway. */
  spentUsd: number | null;
}

export interface AttemptResult {
  attempt: AttemptRef;
  outcome: Outcome;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** The published attempt directory. */
  dir: string;
  workspace: string | undefined;
  /** What the attempt changed outside its workspace: see RunLog.isolationBreaches. */
  isolationBreaches: string[];
  /** What the gateway measured it cost; null when unknown or not through the gateway. */
  costUsd: number | null;
}

/** Everything the engine reports. It never prints; reporters render these. */
export type PipelineEvent =
  | {
      type: 'run-start';
      runId: string;
      benchmarks: string[];
      toRun: number;
      alreadyDone: number;
      concurrency: number;
    }
  | { type: 'node-start'; node: NodeRef }
  | { type: 'node-done'; node: NodeRef; cached: boolean; durationMs: number }
  | { type: 'node-failed'; node: NodeRef; failure: Failure }
  | { type: 'attempt-waiting'; attempt: AttemptRef; ownerPid: number }
  | { type: 'attempt-start'; attempt: AttemptRef; workspace: string; at: number }
  | { type: 'attempt-end'; result: AttemptResult }
  | { type: 'attempt-skipped'; attempt: AttemptRef; why: 'complete' | 'completed-elsewhere' }
  | { type: 'attempt-error'; attempt: AttemptRef; failure: Failure }
  /** Stopped by a model-API fault and queued again (`--retries`), after `waitMs`. */
  | {
      type: 'attempt-retry';
      attempt: AttemptRef;
      failure: Failure;
      retry: number;
      of: number;
      waitMs: number;
    }
  | { type: 'cleanup'; benchmark: string; message: string }
  | { type: 'warning'; message: string }
  /** Image pulls and builds: one line per step (layer status, build output). */
  | { type: 'progress'; message: string }
  | { type: 'run-end'; summary: RunSummary };

export type EventSink = (event: PipelineEvent) => void;

/** A one-line explanation of a failure, for people. */
export function describeFailure(failure: Failure): string {
  switch (failure.reason) {
    case 'cancelled':
      return 'cancelled';
    case 'dependency-failed':
      return `not run: ${failure.dependency} failed`;
    case 'harness-not-found':
      return `harness CLI not found on PATH: ${failure.program}`;
    case 'spawn-failed':
      return `could not start the harness: ${failure.message}`;
    case 'io':
      return `file system error: ${failure.message}`;
    case 'docker':
      return failure.message;
    case 'model-api':
      return describeModelApiFault(failure);
    case 'unknown':
      return failure.message;
  }
}

function describeModelApiFault(f: ModelApiFault): string {
  const answer = f.status === null ? (f.errorType ?? 'no answer') : `${f.status} ${f.errorType ?? 'error'}`;
  const requests = `${f.requests} request${f.requests === 1 ? '' : 's'}`;
  switch (f.kind) {
    case 'refused':
      return `${f.harness}: the model API refused ${f.keyEnv} (${answer} from ${f.upstream})`;
    case 'outage':
      return `${f.harness}: the model API at ${f.upstream} did not recover within the retry window (${answer}; ${requests})`;
    case 'unhealed':
      return `${f.harness}: the model API at ${f.upstream} answered ${answer}, which the attempt cannot recover from (${requests})`;
    case 'stream-cut':
      return `${f.harness}: the model API at ${f.upstream} cut a response mid-stream (${requests})`;
    case 'budget':
      return `${f.harness}: the run's budget (--max-cost) is spent; the attempt was stopped (${requests})`;
  }
}
