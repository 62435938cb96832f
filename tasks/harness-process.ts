import type { RunHarnessRunInput } from './harness-input.js';

/**
 * What running a harness takes, on the host or in a container alike: its arguments, a deadline,
 * and the wait for its last output.
 */

/** How long the output of an exited harness may take to arrive. */
const DRAIN_MS = 2_000;

/** How a harness process or container ended, before it becomes an outcome. */
export interface Ran {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  argv: string[];
  logLimitations: string[];
}

/** Stops at the timeout or on cancellation: `stop` is called once, `timedOut` says which. */
export function deadline(timeoutMs: number, signal: AbortSignal, stop: () => void) {
  const state = { timedOut: false };
  const timer = setTimeout(() => {
    state.timedOut = true;
    stop();
  }, timeoutMs);
  // Cancelled while the harness was starting: stop it now, since the event has passed.
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  return {
    get timedOut() {
      return state.timedOut;
    },
    clear() {
      clearTimeout(timer);
      signal.removeEventListener('abort', stop);
    },
  };
}

/**
 * lite: the CLI's own configuration and state directory of an attempt, beside its workspace
 * (never inside it: it is not the agent's work); removed with the workspace by --clean.
 */
export const homeOf = (workspace: string) => `${workspace}.home`;

/** Extra arguments of a harness invocation: the harness's from config, then the variant's. */
export const harnessArgs = (input: RunHarnessRunInput) => [
  ...(input.adapter.config.args ?? []),
  ...(input.variant?.config.args ?? []),
];

/**
 * Waits for streams to end, but not forever: a process that escaped could hold them open. The
 * timer keeps the process alive while it waits: nothing else may (the streams could be stalled),
 * and an empty event loop would end the invocation mid-attempt, with exit code 0.
 */
export async function drain(
  streams: Promise<unknown>,
  limitations: string[],
  cut: () => void,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), DRAIN_MS);
  });
  const drained = await Promise.race([streams.then(() => true), timeout]).finally(() => clearTimeout(timer));
  if (!drained) {
    cut();
    limitations.push(
      'output after the harness exited was cut off (a process it started kept its pipes open)',
    );
  }
}
