import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import type { VariantConfig } from '../pipeline/config.js';
import { scrubTree } from '../pipeline/copy-tree.js';
import {
  attachOutput,
  createContainer,
  dockerError,
  type Engine,
  LABELS,
  ownerLabel,
  removeContainer,
} from '../pipeline/docker.js';
import { atPath, InfraError, ioError } from '../pipeline/errors.js';
import type { AttemptRef, Outcome } from '../pipeline/events.js';
import { exists } from '../pipeline/fs-atomic.js';
import { sha256 } from '../pipeline/keys.js';
import { processStart } from '../pipeline/markers.js';
import { ATTEMPT_ENV, describeKilled, killTagged } from '../pipeline/processes.js';
import { CancelledError, type TaskContext, type TaskDefinition, throwIfAborted } from '../pipeline/task.js';
import { HarnessOutput } from './harness-output.js';
import { type HarnessAdapter, OPTIONS_ENV, PROMPT_ENV, prepareHome } from './harnesses/adapter.js';
import {
  LINGER_MS,
  lineFeeder,
  type TranscriptReader,
  type TranscriptSummary,
} from './harnesses/transcript.js';
import { materializeWorkspace, type SeedOutput } from './seed-workspace.js';

/** After SIGTERM, how long a harness gets to exit before its process group is killed. */
const KILL_GRACE_MS = 5_000;
/** How long the output of an exited harness may take to arrive. */
const DRAIN_MS = 2_000;

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
  /** lite: the ATTEMPT_ENV value every process of this attempt inherits, to find the ones that escape. */
  attemptTag: string;
  timeoutMs: number;
  /** The harness environment: the host's, minus every known token, plus the harness's own. */
  env: NodeJS.ProcessEnv;
  /** docker mode: the engine and the pinned image to run. */
  container?: ContainerInput;
  /** Called once the harness runs, so its process group or container goes into the running marker. */
  onSpawn(
    running: { pid: number; start: string | undefined } | { containerId: string },
    workspace: string,
  ): Promise<void>;
}

/** A harness runtime extracted from its image, mounted read-only into the attempt containers. */
export interface RuntimeMount {
  /** The runtime image by digest (or id), as recorded in run-log. */
  image: string;
  dir: string;
  path: string;
  entrypoint: string;
}

export interface ContainerInput {
  engine: Engine;
  /** By harness name: the harnesses whose CLI comes from a runtime image. */
  runtimes: Map<string, RuntimeMount>;
  /** `repo@sha256:...` or an image id: never a tag, so one run never mixes images. */
  image: string;
  runId: string;
  cpus: number | undefined;
  memoryBytes: number | undefined;
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
  /** What the CLI's transcript says the attempt did; null for harnesses without one. */
  summary: TranscriptSummary | null;
}

/** Environment values are hashed in the preimage: they may be credentials, and preimages are stored. */
const hashedEnv = (env: Record<string, string> | undefined) =>
  Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, `sha256:${sha256(v).slice(0, 16)}`]));

export const AGENT_LOG = 'agent-run.log';
/** The CLI's JSON event stream (its stdout), beside agent-run.log. */
export const TRANSCRIPT = 'transcript.jsonl';

/**
 * Runs one harness one-shot in a fresh copy of the seed: cwd = the workspace, stdin closed, its
 * own process group (so a timeout or cancellation kills everything it started), stdout and stderr
 * streamed through the redactor into agent-run.log as they come (see HarnessOutput).
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
        /** Run with the invoking user's home instead of one of its own: it may read other state. */
        ...(i.adapter.config.home === false && { home: false }),
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
    await atPath(workspace, () => materializeWorkspace(input.seed, workspace));
    await atPath(input.staging, () => mkdir(input.staging, { recursive: true }));
    // stdout, the CLI's event stream, is also read as it comes to see its final event.
    const reader = adapter.transcript?.();
    const finished = new AbortController();
    const events = reader && eventLines(reader);
    events?.once('final', () => {
      setTimeout(() => finished.abort(), LINGER_MS).unref();
    });
    const output = await HarnessOutput.open(
      ctx.redactor,
      { log: join(input.staging, AGENT_LOG), transcript: reader && join(input.staging, TRANSCRIPT) },
      events,
    );
    // A failed write of the output stops the harness as a timeout would; the attempt is then an error.
    const stop = AbortSignal.any([finished.signal, output.failed]);
    const started = Date.now();
    let ran: Ran;
    try {
      ran = input.container
        ? await runInContainer(input, input.container, workspace, output, ctx, stop)
        : await runOnHost(input, workspace, output, ctx, stop);
    } finally {
      await output.close();
    }
    if (output.failure) throw output.failure;
    if (ctx.signal.aborted) throw new CancelledError();
    // The CLI's own state (sessions, databases) may hold the token, in contents, link targets
    // or names: masked where it lies.
    if (!input.container && adapter.setup && (await exists(homeOf(workspace))))
      await scrubTree(homeOf(workspace), ctx.redactor);

    const ended = Date.now();
    const logLimitations = [...ran.logLimitations];
    if (ran.timedOut)
      logLimitations.push(
        `the harness was killed at the timeout (${input.timeoutMs} ms); the log ends there`,
      );
    const summary = reader?.summary() ?? null;
    // Ended after its final event: the attempt is what that event says, not how the CLI was stopped.
    const lingered = finished.signal.aborted && !ran.timedOut;
    if (lingered)
      logLimitations.push(`the CLI kept running ${LINGER_MS} ms after its final event and was ended`);
    const outcome: Outcome = ran.timedOut
      ? 'timed-out'
      : ran.exitCode === 0 || (lingered && summary?.status === 'success')
        ? 'succeeded'
        : 'failed';
    return {
      outcome,
      exitCode: ran.exitCode,
      signal: ran.signal,
      timedOut: ran.timedOut,
      startedAt: new Date(started).toISOString(),
      endedAt: new Date(ended).toISOString(),
      durationMs: ended - started,
      workspace,
      argv: ran.argv.map((a) => ctx.redactor.redact(a)),
      stderrTail: output.stderrTail,
      logLimitations,
      summary,
    };
  },
};

/** How a harness process or container ended, before it becomes an outcome. */
interface Ran {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  argv: string[];
  logLimitations: string[];
}

/** Stops at the timeout or on cancellation: `stop` is called once, `timedOut` says which. */
function deadline(timeoutMs: number, signal: AbortSignal, stop: () => void) {
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
const harnessArgs = (input: RunHarnessRunInput) => [
  ...(input.adapter.config.args ?? []),
  ...(input.variant?.config.args ?? []),
];

/** Parses a CLI's event stream into `reader`; emits 'final' once its final event has passed. */
function eventLines(reader: TranscriptReader): Writable {
  const feed = lineFeeder(reader);
  let told = false;
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      feed(chunk);
      if (reader.final && !told) {
        told = true;
        this.emit('final');
      }
      done();
    },
  });
}

/**
 * Waits for streams to end, but not forever: a process that escaped could hold them open. The
 * timer keeps the process alive while it waits: nothing else may (the streams could be stalled),
 * and an empty event loop would end the invocation mid-attempt, with exit code 0.
 */
async function drain(streams: Promise<unknown>, limitations: string[], cut: () => void): Promise<void> {
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

/** Lite mode: the harness CLI as a process group on this machine, cwd = the workspace. */
async function runOnHost(
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

/**
 * Docker mode: one container from the pinned image, running its `run-attempt` entrypoint. Only
 * the workspace reaches it (a bind mount, or tar through the API for a remote engine); the token
 * and the harness env go into its environment and nowhere else. It is removed afterwards, also
 * when the attempt is cancelled.
 */
async function runInContainer(
  input: RunHarnessRunInput,
  c: ContainerInput,
  workspace: string,
  output: HarnessOutput,
  ctx: TaskContext,
  stopped: AbortSignal,
): Promise<Ran> {
  const { attempt, model } = input;
  const cmd = ['--harness', input.adapter.name, ...(model ? ['--model', model] : [])];
  const { baseUrl, tokenEnv } = input.adapter.config;
  const env: Record<string, string> = {
    [PROMPT_ENV]: input.wrapperPrompt,
    [OPTIONS_ENV]: JSON.stringify({ baseUrl, tokenEnv, args: harnessArgs(input) }),
  };
  for (const [k, v] of Object.entries(input.env)) if (v !== undefined) env[k] = v;
  const name = `bench-pipeline-${attempt.benchmark}-${attempt.name}-${randomBytes(4).toString('hex')}`
    .replace(/[^a-zA-Z0-9_.-]/g, '-')
    .slice(0, 120);
  const container = await createContainer(c.engine, {
    name,
    image: c.image,
    cmd,
    env,
    labels: {
      [LABELS.tool]: 'attempt',
      [LABELS.runId]: c.runId,
      [LABELS.benchmark]: attempt.benchmark,
      [LABELS.attempt]: attempt.name,
      [LABELS.owner]: ownerLabel(process.pid, await processStart(process.pid)),
    },
    workspace,
    nanoCpus: c.cpus ? Math.round(c.cpus * 1e9) : undefined,
    memoryBytes: c.memoryBytes,
    runtime: c.runtimes.get(input.adapter.name),
  });
  const logLimitations: string[] = [];
  try {
    if (c.engine.remote) await sendWorkspace(container, workspace);
    const attached = await attachOutput(c.engine, container, output.stdout, output.stderr);
    const ended = new Promise<void>((resolve) => {
      attached.once('end', resolve);
      attached.once('close', resolve);
    });
    await container.start();
    await input.onSpawn({ containerId: container.id }, workspace);
    const limit = deadline(input.timeoutMs, AbortSignal.any([ctx.signal, stopped]), () => {
      container.kill().catch(() => {});
    });
    // Asked after start: 'not-running' answers at once, with the exit code, if it already ended.
    const waited = container.wait({ condition: 'not-running' });
    const status = (await waited.finally(() => limit.clear())) as { StatusCode: number };
    // demuxStream writes into the output but never ends it: HarnessOutput.close does, after this.
    await drain(ended, logLimitations, () => (attached as unknown as { destroy?: () => void }).destroy?.());
    if (c.engine.remote && !ctx.signal.aborted) await fetchWorkspace(container, workspace);
    const exitCode = limit.timedOut ? null : status.StatusCode;
    const signal = limit.timedOut || ctx.signal.aborted ? 'SIGKILL' : null;
    return { exitCode, signal, timedOut: limit.timedOut, argv: ['run-attempt', ...cmd], logLimitations };
  } finally {
    await removeContainer(c.engine, container.id);
  }
}

/** Remote engine: the workspace goes into the container as a tar stream (it has no bind mount). */
async function sendWorkspace(container: Docker.Container, workspace: string): Promise<void> {
  const { create } = await import('tar');
  const tar = Readable.from(create({ cwd: workspace, prefix: 'workspace', portable: true }, ['.']));
  try {
    await container.putArchive(tar, { path: '/' });
  } catch (error) {
    throw dockerError('could not copy the workspace into the container', error);
  }
}

/** Remote engine: the finished /workspace comes back as tar and replaces the local copy. */
async function fetchWorkspace(container: Docker.Container, workspace: string): Promise<void> {
  const { x } = await import('tar');
  let archive: NodeJS.ReadableStream;
  try {
    archive = await container.getArchive({ path: '/workspace/.' });
  } catch (error) {
    throw dockerError('could not copy the workspace out of the container', error);
  }
  await rm(workspace, { recursive: true, force: true });
  await mkdir(workspace);
  await pipeline(archive, x({ cwd: workspace, strip: 1 }) as unknown as NodeJS.WritableStream);
}

/** Explains an exit for people; 137 is the usual sign of the out-of-memory killer. */
export function describeExit(run: Pick<HarnessRun, 'exitCode' | 'signal' | 'timedOut' | 'outcome'>): string {
  if (run.timedOut) return 'timed out';
  if (run.signal) return `killed by ${run.signal}`;
  if (run.exitCode === 137) return 'exit 137 (killed; often out of memory)';
  return run.outcome === 'succeeded' ? 'exit 0' : `exit ${run.exitCode}`;
}
