import { type ChildProcessByStdio, spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { RunHarnessRunInput } from './harness-input.js';

/**
 * What running a harness takes, on the host or in a container alike: its arguments, a deadline,
 * and the wait for its last output.
 */

/** After SIGTERM, how long a process group gets to exit before it is killed. */
const KILL_GRACE_MS = 5_000;

/** A process started in a group of its own (see startGroup), its output not yet read. */
export interface Group {
  child: ChildProcessByStdio<null, Readable, Readable>;
  pid: number;
  /** Listened for from the start: a quick process can exit before anyone awaits it. */
  exited: Promise<[number | null, NodeJS.Signals | null]>;
  /** Sends `signal` to the whole group; one that is gone is fine. */
  kill(signal: NodeJS.Signals): void;
  /** SIGTERM to the group, then SIGKILL after a grace period (once, however often it is called). */
  stop(): void;
  /** Pipes its stdout and stderr into these, not ending them; resolves once both are closed. */
  pipe(stdout: Writable, stderr: Writable): Promise<unknown>;
  /** Forgets a pending SIGKILL of `stop`. */
  done(): void;
}

/**
 * Starts `program` in a process group of its own (so that everything it starts can be stopped
 * with it), stdin closed; resolves once it runs, or with the error that kept it from starting.
 */
export async function startGroup(
  program: string,
  args: readonly string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<Group | NodeJS.ErrnoException> {
  const child = spawn(program, args, { ...options, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (code, sig) => resolve([code, sig])),
  );
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (error) => resolve(error));
  });
  if (spawned) return spawned;
  const pid = child.pid!;
  const kill = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  let escalation: NodeJS.Timeout | undefined;
  const copy = (from: Readable, to: Writable) => {
    from.pipe(to, { end: false });
    return new Promise<void>((resolve) => from.once('close', resolve));
  };
  return {
    child,
    pid,
    exited,
    kill,
    stop() {
      kill('SIGTERM');
      escalation ??= setTimeout(() => kill('SIGKILL'), KILL_GRACE_MS);
    },
    pipe: (stdout, stderr) => Promise.all([copy(child.stdout, stdout), copy(child.stderr, stderr)]),
    done: () => clearTimeout(escalation),
  };
}

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
export const harnessArgs = (input: Pick<RunHarnessRunInput, 'adapter' | 'variant'>) => [
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
