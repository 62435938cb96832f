import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { Writable } from 'node:stream';
import {
  attachOutput,
  createContainer,
  dockerError,
  type Engine,
  LABELS,
  ownerLabel,
  removeContainer,
  sendWorkspace,
} from '../pipeline/docker.js';
import { atPath, errnoCode, InfraError, ioError } from '../pipeline/errors.js';
import { processStart } from '../pipeline/markers.js';
import { ATTEMPT_ENV, killTagged } from '../pipeline/processes.js';
import { deadline, drain, startGroup } from './harness-process.js';

/**
 * One score check's `sh -c` as a process group on this machine (lite) or in a container of its
 * own (docker): how it starts, is stopped and ends. What its output becomes is run-check's.
 */

/** Where the check runs in docker mode: a new container from the attempt's image. */
export interface CheckContainer {
  engine: Engine;
  /** An immutable reference (`repo@sha256:...` or an image id): the attempt's own digest. */
  image: string;
  runId: string;
  benchmark: string;
  /** The attempt's name (`<model-id>-attempt-<n>`), for its label. */
  attempt: string;
}

export interface CheckProcess {
  run: string;
  workspace: string;
  timeoutMs: number;
  network: 'none' | 'open';
  /** Carried by every process of the check (lite), to find what it leaves running. */
  tag: string;
  /** Where the check's output goes as it comes; never ended here. */
  stdout: Writable;
  stderr: Writable;
  /** Aborted: stop the check now (cancelled, or its log cannot be written). */
  stop: AbortSignal;
}

/** How a check ended, before its output is looked at. */
export interface CheckEnded {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** From the start of the process or container to its end. */
  durationMs: number;
}

const DEFAULT_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * `sh -c <run>` (run appended as the last argument) with its stderr on its stdout's pipe. Read
 * from two pipes, stdout and stderr interleave in whatever order their reads happen to finish, so
 * the log's order (and with it lastLine, a check's `SCORE n/max`) would be a race; one pipe keeps
 * the order the check wrote in, as a terminal shows it. The inner shell is exec'd: the same
 * process (and group), with the command as given.
 */
export const MERGED_SH = ['sh', '-c', 'exec 2>&1; exec sh -c "$1"', 'sh'] as const;

/**
 * A check's whole environment on the host: PATH, a HOME of its own, LANG and TZ where set, and
 * the tag that finds what it leaves running. Nothing else of ours: the host's environment holds
 * the harness tokens, and a check (hidden tests, an evaluator's script) has no use for them.
 */
function checkEnv(home: string, tag: string): Record<string, string> {
  const env: Record<string, string> = {
    PATH: process.env.PATH || DEFAULT_PATH,
    HOME: home,
    [ATTEMPT_ENV]: tag,
  };
  for (const name of ['LANG', 'TZ']) {
    const value = process.env[name];
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/**
 * Lite mode: `sh -c` (see MERGED_SH) with cwd = the workspace, stdin from /dev/null, its own
 * process group and a fresh HOME beside the workspace (removed afterwards). At the timeout or
 * when stopped the group gets SIGTERM, then SIGKILL after a grace period; when the shell ends,
 * whatever it left running is killed, in its group or not (a `setsid` daemon carries the tag).
 * No network isolation: the check reaches what this machine reaches, whatever `network` says.
 */
export async function checkOnHost(p: CheckProcess): Promise<CheckEnded> {
  // Resolved first: `${workspace}.home-` of `ws/` would be inside it.
  const home = await atPath(p.workspace, () => mkdtemp(`${resolvePath(p.workspace)}.home-`));
  try {
    return await runGroup(p, home);
  } finally {
    await removeTree(home);
  }
}

async function runGroup(p: CheckProcess, home: string): Promise<CheckEnded> {
  const { tag } = p;
  const [sh, ...args] = MERGED_SH;
  const group = await startGroup(sh, [...args, p.run], { cwd: p.workspace, env: checkEnv(home, tag) });
  if (group instanceof Error) {
    const message = `could not start a check (sh -c) in ${p.workspace}: ${group.message}`;
    throw new InfraError(message, { reason: 'spawn-failed', message });
  }
  const started = Date.now();
  const { child, exited } = group;
  const limit = deadline(p.timeoutMs, p.stop, group.stop);
  const streams = group.pipe(p.stdout, p.stderr);
  let ended: [number | null, NodeJS.Signals | null];
  try {
    ended = await exited;
  } finally {
    limit.clear();
    group.done();
    // Nothing a check started outlives it: the next check, or the score, reads the workspace.
    await killTagged(tag);
    group.kill('SIGKILL');
    await drain(streams, [], () => {
      child.stdout.destroy();
      child.stderr.destroy();
    });
  }
  const [exitCode, signal] = ended;
  return { exitCode, signal, timedOut: limit.timedOut, durationMs: Date.now() - started };
}

/**
 * Removes a temp tree, also one a check made read-only (Go's module cache under HOME is): its
 * directories are made writable again first.
 */
async function removeTree(path: string): Promise<void> {
  try {
    await rm(path, { recursive: true, force: true });
    return;
  } catch (error) {
    const code = errnoCode(error);
    if (code !== 'EACCES' && code !== 'EPERM') throw ioError(error, path);
  }
  await makeWritable(path);
  await atPath(path, () => rm(path, { recursive: true, force: true }));
}

async function makeWritable(dir: string): Promise<void> {
  await chmod(dir, 0o700).catch(() => {});
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries) if (e.isDirectory()) await makeWritable(join(dir, e.name));
}

/**
 * Docker mode: a new container from the attempt's image, `sh -c` (MERGED_SH) in place of its
 * entrypoint, working dir /workspace. Only the scoring workspace reaches it (bind-mounted
 * read-write, or for a remote engine copied in as tar and not fetched back: a check's result is
 * its output); no Docker socket, no environment of ours, no network with `none`. The timeout
 * kills it; it is removed afterwards however it ended, also when stopped or when the engine fails.
 */
export async function checkInContainer(p: CheckProcess, c: CheckContainer): Promise<CheckEnded> {
  const name = `bench-pipeline-check-${c.benchmark}-${c.attempt}-${randomBytes(4).toString('hex')}`
    .replace(/[^a-zA-Z0-9_.-]/g, '-')
    .slice(0, 120);
  const container = await createContainer(c.engine, {
    name,
    image: c.image,
    entrypoint: [...MERGED_SH],
    cmd: [p.run],
    env: {},
    labels: {
      // The kind of container: an attempt's containers say `attempt`.
      [LABELS.tool]: 'score-check',
      [LABELS.runId]: c.runId,
      [LABELS.benchmark]: c.benchmark,
      [LABELS.attempt]: c.attempt,
      [LABELS.owner]: ownerLabel(process.pid, await processStart(process.pid)),
    },
    workspace: p.workspace,
    nanoCpus: undefined,
    memoryBytes: undefined,
    network: p.network === 'none' ? { NetworkMode: 'none' } : {},
  });
  try {
    if (c.engine.remote) await sendWorkspace(container, p.workspace, 'the check container');
    let attached: NodeJS.ReadableStream;
    try {
      attached = await attachOutput(c.engine, container, p.stdout, p.stderr);
    } catch (error) {
      throw dockerError(`could not attach to the check container ${name}`, error);
    }
    const ended = new Promise<void>((resolve) => {
      attached.once('end', resolve);
      attached.once('close', resolve);
    });
    try {
      await container.start();
    } catch (error) {
      throw dockerError(`could not start the check container ${name}`, error);
    }
    const started = Date.now();
    const limit = deadline(p.timeoutMs, p.stop, () => {
      container.kill().catch(() => {});
    });
    let status: { StatusCode: number };
    try {
      status = await container.wait({ condition: 'not-running' });
    } catch (error) {
      throw dockerError(`lost the check container ${name}`, error);
    } finally {
      limit.clear();
    }
    const durationMs = Date.now() - started;
    await drain(ended, [], () => (attached as unknown as { destroy?: () => void }).destroy?.());
    const killed = limit.timedOut || p.stop.aborted;
    return {
      exitCode: limit.timedOut ? null : status.StatusCode,
      signal: killed ? 'SIGKILL' : null,
      timedOut: limit.timedOut,
      durationMs,
    };
  } finally {
    await removeContainer(c.engine, container.id);
  }
}
