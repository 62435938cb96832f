/**
 * Why things did not work, as data, and how to say so to people: every reporter and every stored
 * record explains a failure or an exit through these, so they read the same everywhere.
 */

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
  /** Another invocation published the same attempt while this one ran. */
  | { reason: 'conflict'; message: string }
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
    case 'conflict':
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

/** Explains an exit for people; 137 is the usual sign of the out-of-memory killer. */
export function describeExit(run: {
  exitCode: number | null;
  signal: string | null;
  outcome: Outcome;
}): string {
  if (run.outcome === 'timed-out') return 'timed out';
  if (run.signal) return `killed by ${run.signal}`;
  if (run.exitCode === 137) return 'exit 137 (killed; often out of memory)';
  return run.outcome === 'succeeded' ? 'exit 0' : `exit ${run.exitCode}`;
}

/** Marks a switch as exhaustive: adding a union member without handling it fails to compile. */
export function unreachable(value: never): never {
  throw new Error(`unreachable: ${JSON.stringify(value)}`);
}
