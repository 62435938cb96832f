import type { Failure, Outcome } from './failures.js';
import type { TaskName } from './task-name.js';

export type { Outcome } from './failures.js';

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
  /** Temp workspaces left in place: those with anything not collected in them, unless --clean. */
  workspaces: string[];
  /** The run's temp dir when anything is left in it (agents' homes, what was not collected); null with --clean. */
  tempDir: string | null;
  isolationDeviations: string[];
  /** `<benchmark>/<attempt>: <breach>`: what attempts changed outside their workspace (lite). */
  isolationBreaches: string[];
  /** The eval-attempts/ directories that hold this run's output. */
  outputDirs: string[];
  /** USD the run's model traffic cost, as the gateway measured it (priced calls only); null without a gateway. */
  spentUsd: number | null;
  /** `--score`: the attempts scored; null without it. */
  scored: number | null;
  /** `--score`: `<benchmark>/<attempt>: why` of each score that could not be made. */
  scoreErrors: string[];
}

export interface AttemptResult {
  attempt: AttemptRef;
  outcome: Outcome;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  /** The published attempt directory. */
  dir: string;
  /** The temp workspace, when anything is left in it (what was not collected; none under --clean). */
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
  /** An attempt's score is being made by another live invocation: this one waits for it. */
  | { type: 'score-waiting'; node: NodeRef; ownerPid: number }
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
  /** A complete attempt's score, published to eval-results/ (or found published by another invocation). */
  | {
      type: 'attempt-scored';
      node: NodeRef;
      result: { total: number; max: number; unscored: number } | 'elsewhere';
      /** Why a score that was there is made again, if it was stale. */
      again: string | undefined;
    }
  | { type: 'cleanup'; benchmark: string; message: string }
  | { type: 'warning'; message: string }
  /** Image pulls and builds: one line per step (layer status, build output). */
  | { type: 'progress'; message: string }
  | { type: 'run-end'; summary: RunSummary };

export type EventSink = (event: PipelineEvent) => void;
