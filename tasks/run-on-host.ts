import { InfraError, ioError } from '../pipeline/errors.js';
import { processStart } from '../pipeline/markers.js';
import { ATTEMPT_ENV, describeKilled, killTagged } from '../pipeline/processes.js';
import type { RunHarnessRunInput } from './harness-input.js';
import type { HarnessOutput } from './harness-output.js';
import { deadline, drain, harnessArgs, homeOf, type Ran, startGroup } from './harness-process.js';
import { prepareHome } from './harnesses/adapter.js';

/** What a lite-mode run of a harness takes: an attempt's, or a judge's (see tasks/judge.ts). */
export type HostRunInput = Pick<
  RunHarnessRunInput,
  'adapter' | 'model' | 'variant' | 'wrapperPrompt' | 'env' | 'attemptTag' | 'timeoutMs' | 'onSpawn'
>;

/** Lite mode: the harness CLI as a process group on this machine, cwd = the workspace. */
export async function runOnHost(
  input: HostRunInput,
  workspace: string,
  output: HarnessOutput,
  /** Cancels the run (SIGINT, SIGTERM), as `stopped` does. */
  cancelled: AbortSignal,
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
  const group = await startGroup(program, rest, {
    cwd: workspace,
    // PWD too: a CLI that trusts it over its real cwd would work in the invoking directory.
    env: {
      ...input.env,
      ...home,
      PWD: workspace,
      [ATTEMPT_ENV]: input.attemptTag,
    },
  });
  if (group instanceof Error) {
    if (group.code === 'ENOENT') {
      throw new InfraError(`harness CLI not found: ${program}`, { reason: 'harness-not-found', program });
    }
    const message = `could not start ${program}: ${group.message}`;
    throw new InfraError(message, { reason: 'spawn-failed', message });
  }
  const { child, pid, exited } = group;
  const limit = deadline(input.timeoutMs, AbortSignal.any([cancelled, stopped]), group.stop);
  // Ended by HarnessOutput.close, once both are done: they share agent-run.log.
  const streams = group.pipe(output.stdout, output.stderr);
  let ended: [number | null, NodeJS.Signals | null] | undefined;
  const logLimitations: string[] = [];
  try {
    await input.onSpawn({ pid, start: await processStart(pid) }, workspace);
    ended = await exited;
  } finally {
    // Not tracked by its marker (it could not be written): the harness does not go on untracked.
    if (!ended) {
      group.kill('SIGKILL');
      await exited;
    }
    limit.clear();
    group.done();
    // Whatever the harness left running ends with it, before anything reads the workspace: in its
    // group (a dev server, say) or not (a daemon that called setsid). Each is recorded.
    const killed = await killTagged(input.attemptTag);
    group.kill('SIGKILL');
    if (killed.length) logLimitations.push(describeKilled(killed));
    await drain(streams, logLimitations, () => {
      child.stdout.destroy();
      child.stderr.destroy();
    });
  }
  const [exitCode, signal] = ended;
  return { exitCode, signal, timedOut: limit.timedOut, argv, logLimitations };
}
