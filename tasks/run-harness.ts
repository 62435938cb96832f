import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import type { VariantConfig } from '../pipeline/config.js';
import { InfraError } from '../pipeline/errors.js';
import type { AttemptRef, Outcome } from '../pipeline/events.js';
import { sha256 } from '../pipeline/keys.js';
import { processStart } from '../pipeline/markers.js';
import { CancelledError, type TaskDefinition, throwIfAborted } from '../pipeline/task.js';
import type { HarnessAdapter } from './harnesses/adapter.js';
import { materializeWorkspace, type SeedOutput } from './seed-workspace.js';

/** The default instruction given to every harness, after which it is on its own. */
export const DEFAULT_WRAPPER_PROMPT =
  'Read prompt.md and context.md in this directory and complete the task end to end. ' +
  'Do not ask follow-up questions. Write all files inside this directory.';

/** After SIGTERM, how long a harness gets to exit before its process group is killed. */
const KILL_GRACE_MS = 5_000;
/** How many bytes of stderr are kept to explain a failure. */
const STDERR_TAIL = 2_000;

export interface RunHarnessInput {
  attempt: AttemptRef;
  seedKey: string;
  pinKey: string;
  mode: 'lite' | 'docker';
  imageDigest: string;
  hostRuntimes: Record<string, string>;
  adapter: HarnessAdapter;
  cliVersion: string;
  model: string | undefined;
  variant: { name: string; config: VariantConfig } | undefined;
  wrapperPrompt: string;
}

export interface RunHarnessRunInput extends RunHarnessInput {
  seed: SeedOutput;
  /** Parent of this attempt's temp workspace, under the OS temp dir. */
  workspaceRoot: string;
  /** Where agent-run.log is streamed to: the attempt's staging directory. */
  staging: string;
  timeoutMs: number;
  /** The harness environment: the host's, minus every known token, plus the harness's own. */
  env: NodeJS.ProcessEnv;
  /** Called once the harness runs, so its process group can be recorded in the running marker. */
  onSpawn(pid: number, start: string | undefined, workspace: string): Promise<void>;
}

export interface HarnessRun {
  outcome: Outcome;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  workspace: string;
  argv: string[];
  stderrTail: string;
  logLimitations: string[];
}

/** Environment values are hashed in the preimage: they may be credentials, and preimages are stored. */
const hashedEnv = (env: Record<string, string> | undefined) =>
  Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, `sha256:${sha256(v).slice(0, 16)}`]));

export const AGENT_LOG = 'agent-run.log';

/**
 * Runs one harness one-shot in a fresh copy of the seed: cwd = the workspace, stdin closed, its
 * own process group (so a timeout or cancellation kills everything it started), stdout and stderr
 * streamed through the redactor into agent-run.log as they come.
 */
export const runHarness: TaskDefinition<RunHarnessInput, HarnessRun, RunHarnessRunInput> = {
  name: 'run-harness',
  version: 1,
  keyInputs: (i) => ({
    params: {
      /** docker: the pinned image digest; lite: the host runtimes the harness will use instead. */
      environment: i.mode === 'docker' ? { imageDigest: i.imageDigest } : { hostRuntimes: i.hostRuntimes },
      harness: {
        name: i.adapter.name,
        /** A new CLI version may behave differently. */
        cliVersion: i.cliVersion,
        args: i.adapter.config.args ?? [],
        env: hashedEnv(i.adapter.env({ model: i.model, prompt: '', args: [] })),
      },
      /** The resolved model (null: the vendor default). */
      model: i.model ?? null,
      variant: i.variant
        ? { name: i.variant.name, args: i.variant.config.args ?? [], env: hashedEnv(i.variant.config.env) }
        : null,
      wrapperPrompt: i.wrapperPrompt,
      /** Attempts 1..N are distinct nodes with otherwise equal inputs. */
      n: i.attempt.n,
    },
    upstream: { seed: i.seedKey, pin: i.pinKey },
  }),
  async run(input, ctx) {
    throwIfAborted(ctx.signal);
    const { adapter, attempt } = input;
    await mkdir(input.workspaceRoot, { recursive: true });
    const workspace = await mkdtemp(join(input.workspaceRoot, `${attempt.benchmark}-${attempt.name}-`));
    await materializeWorkspace(input.seed, workspace);
    const args = [...(adapter.config.args ?? []), ...(input.variant?.config.args ?? [])];
    const argv = adapter.argv({ model: input.model, prompt: input.wrapperPrompt, args });
    const [program, ...rest] = argv as [string, ...string[]];
    await mkdir(input.staging, { recursive: true });
    const log = createWriteStream(join(input.staging, AGENT_LOG), { flags: 'wx' });
    await new Promise((resolve, reject) => log.once('open', resolve).once('error', reject));

    const started = Date.now();
    const child = spawn(program, rest, {
      cwd: workspace,
      env: input.env,
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
      log.end();
      if ((spawned as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new InfraError(`harness CLI not found: ${program}`, { reason: 'harness-not-found', program });
      }
      const message = `could not start ${program}: ${spawned.message}`;
      throw new InfraError(message, { reason: 'spawn-failed', message });
    }
    const pid = child.pid!;
    let stderrTail = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-STDERR_TAIL);
    });
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-pid, signal);
      } catch {
        // The group is gone already.
      }
    };
    let timedOut = false;
    let escalation: NodeJS.Timeout | undefined;
    const stop = () => {
      killGroup('SIGTERM');
      escalation ??= setTimeout(() => killGroup('SIGKILL'), KILL_GRACE_MS);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      stop();
    }, input.timeoutMs);
    ctx.signal.addEventListener('abort', stop, { once: true });

    // Both streams go through their own redactor into the one log, as they arrive.
    const copy = (from: NodeJS.ReadableStream) =>
      new Promise<void>((resolve, reject) => {
        const redacting = from.pipe(ctx.redactor.stream());
        redacting.pipe(log, { end: false });
        redacting.once('end', resolve).once('error', reject);
      });
    const streams = Promise.all([copy(child.stdout), copy(child.stderr)]);
    await input.onSpawn(pid, await processStart(pid), workspace);
    const [exitCode, signal] = await exited;
    clearTimeout(timer);
    ctx.signal.removeEventListener('abort', stop);
    // Whatever the harness left running in its group (a dev server, say) ends with it.
    killGroup('SIGKILL');
    clearTimeout(escalation);
    const logLimitations: string[] = [];
    // A grandchild that escaped the group could hold the pipes open; do not wait on it forever.
    const drained = await Promise.race([streams.then(() => true), sleep(2_000).then(() => false)]);
    if (!drained) {
      child.stdout.destroy();
      child.stderr.destroy();
      logLimitations.push(
        'output after the harness exited was cut off (a process it started kept its pipes open)',
      );
    }
    await new Promise<void>((resolve, reject) =>
      log.end((error?: Error | null) => (error ? reject(error) : resolve())),
    );
    if (ctx.signal.aborted) throw new CancelledError();

    const ended = Date.now();
    if (timedOut)
      logLimitations.push(
        `the harness was killed at the timeout (${input.timeoutMs} ms); the log ends there`,
      );
    const outcome: Outcome = timedOut ? 'timed-out' : exitCode === 0 ? 'succeeded' : 'failed';
    return {
      outcome,
      exitCode,
      signal,
      timedOut,
      startedAt: new Date(started).toISOString(),
      endedAt: new Date(ended).toISOString(),
      durationMs: ended - started,
      workspace,
      argv: argv.map((a) => ctx.redactor.redact(a)),
      stderrTail: ctx.redactor.redact(stderrTail),
      logLimitations,
    };
  },
};

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

/** Explains an exit for people; 137 is the usual sign of the out-of-memory killer. */
export function describeExit(run: Pick<HarnessRun, 'exitCode' | 'signal' | 'timedOut' | 'outcome'>): string {
  if (run.timedOut) return 'timed out';
  if (run.signal) return `killed by ${run.signal}`;
  if (run.exitCode === 137) return 'exit 137 (killed; often out of memory)';
  return run.outcome === 'succeeded' ? 'exit 0' : `exit ${run.exitCode}`;
}
