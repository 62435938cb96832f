import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { InfraError, ioError } from '../pipeline/errors.js';
import { processStart } from '../pipeline/markers.js';
import { ATTEMPT_ENV, describeKilled, killTagged } from '../pipeline/processes.js';
import type { TaskContext } from '../pipeline/task.js';
import type { RunHarnessRunInput } from './harness-input.js';
import type { HarnessOutput } from './harness-output.js';
import { deadline, drain, harnessArgs, homeOf, type Ran } from './harness-process.js';
import { prepareHome } from './harnesses/adapter.js';

/** After SIGTERM, how long a harness gets to exit before its process group is killed. */
const KILL_GRACE_MS = 5_000;

/** Lite mode: the harness CLI as a process group on this machine, cwd = the workspace. */
export async function runOnHost(
  input: RunHarnessRunInput,
  workspace: string,
  output: HarnessOutput,
  ctx: TaskContext,
  stopped: AbortSignal,
): Promise<Ran> {
  const { adapter } = input;
  const argv = adapter.argv({ model: input.model, prompt: input.wrapperPrompt, args: harnessArgs(input) });
  const [program, ...rest] = argv as [string, ...string[]];
  let home: Record<string, string>;
  try {
    home = prepareHome(adapter, homeOf(workspace), input.model);
  } catch (error) {
    throw ioError(error, homeOf(workspace));
  }
  const child = spawn(program, rest, {
    cwd: workspace,
    // PWD too: a CLI that trusts it over its real cwd would work in the invoking directory.
    env: {
      ...input.env,
      ...home,
      PWD: workspace,
      [ATTEMPT_ENV]: input.attemptTag,
    },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Listen before any await: a quick harness can exit while the marker is being updated.
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once('exit', (code, sig) => resolve([code, sig])),
  );
  const spawned = await new Promise<Error | undefined>((resolve) => {
    child.once('spawn', () => resolve(undefined));
    child.once('error', (error) => resolve(error));
  });
  if (spawned) {
    if ((spawned as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new InfraError(`harness CLI not found: ${program}`, { reason: 'harness-not-found', program });
    }
    const message = `could not start ${program}: ${spawned.message}`;
    throw new InfraError(message, { reason: 'spawn-failed', message });
  }
  const pid = child.pid!;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-pid, signal);
    } catch {
      // The group is gone already.
    }
  };
  let escalation: NodeJS.Timeout | undefined;
  const stop = () => {
    killGroup('SIGTERM');
    escalation ??= setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
  };
  const limit = deadline(input.timeoutMs, AbortSignal.any([ctx.signal, stopped]), stop);
  // Ended by HarnessOutput.close, once both are done: they share agent-run.log.
  const copy = (from: Readable, to: Writable) => {
    from.pipe(to, { end: false });
    return new Promise<void>((resolve) => from.once('close', resolve));
  };
  const streams = Promise.all([copy(child.stdout, output.stdout), copy(child.stderr, output.stderr)]);
  let ended: [number | null, NodeJS.Signals | null] | undefined;
  const logLimitations: string[] = [];
  try {
    await input.onSpawn({ pid, start: await processStart(pid) }, workspace);
    ended = await exited;
  } finally {
    // Not tracked by its marker (it could not be written): the harness does not go on untracked.
    if (!ended) {
      killGroup('SIGKILL');
      await exited;
    }
    limit.clear();
    clearTimeout(escalation);
    // Whatever the harness left running ends with it, before anything reads the workspace: in its
    // group (a dev server, say) or not (a daemon that called setsid). Each is recorded.
    const killed = await killTagged(input.attemptTag);
    killGroup('SIGKILL');
    if (killed.length) logLimitations.push(describeKilled(killed));
    await drain(streams, logLimitations, () => {
      child.stdout.destroy();
      child.stderr.destroy();
    });
  }
  const [exitCode, signal] = ended;
  return { exitCode, signal, timedOut: limit.timedOut, argv, logLimitations };
}
