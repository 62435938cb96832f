import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ContainerInput, RuntimeMount } from '../tasks/harness-input.js';
import type { NextIndex } from './attempt-lifecycle.js';
import type { EventSink } from './events.js';
import type { Gateway } from './gateway/server.js';
import type { GatewayAccess } from './harness-env.js';
import type { PackageWatch } from './package-watch.js';
import type { AttemptLine, BenchmarkPlan } from './plan.js';
import type { Redactor } from './redact.js';
import type { RerunWhat } from './selection.js';

/** What the attempts of one run share. */
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
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
  /** Times an attempt stopped by a model-API fault is queued again (`--retries`). */
  retries: number;
  /** `--rerun`: which complete attempts are made again (decided here once an image is pinned). */
  rerun: readonly RerunWhat[];
  /** The next free index per model id of a benchmark, for `--more`. */
  nextIndex(bp: BenchmarkPlan): NextIndex;
  /** docker mode: the engine, the pinned image and the limits of a benchmark's containers. */
  containerFor(bp: BenchmarkPlan, digest: string): ContainerInput | undefined;
  /** docker mode: the engine's version, for run-log. */
  engineVersion: string | undefined;
  /** docker: harness runtimes mounted from their own images, by harness name. */
  runtimes: Map<string, RuntimeMount>;
  /** The one watch of a benchmark's package, shared by its attempts (their windows overlap). */
  packageWatch(bp: BenchmarkPlan): PackageWatch;
}

const LITE_DEVIATION = 'lite mode, no container isolation; harness ran on host';

/** What an attempt in this mode lacks of full isolation: recorded in every run-log. */
export const isolationDeviations = (mode: 'lite' | 'docker'): string[] =>
  mode === 'lite' ? [LITE_DEVIATION] : [];

/** Where a run's attempt workspaces, and their agents' homes, are made: under the OS temp dir. */
export const runTempDir = (runId: string) => join(tmpdir(), 'bench-pipeline', runId);
