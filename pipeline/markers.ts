import { link, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { atPath, errnoCode } from './errors.js';
import { fsyncPath, tempPathFor, writeJsonAtomic } from './fs-atomic.js';
import { killTagged } from './processes.js';
import type { StatePaths } from './state.js';
import { uniqueSuffix } from './state.js';
import { readStored } from './stored.js';
import { CancelledError } from './task.js';

const pid = z.number().int().positive();

/** Who is running an attempt. It exists exactly while the attempt runs. */
export const markerSchema = z.object({
  pid,
  host: z.string().min(1),
  /** The owner's start time from /proc, so a reused pid is not mistaken for the owner. */
  procStart: z.string().optional(),
  runId: z.string().min(1),
  attempt: z.string().min(1),
  startedAt: z.string(),
  staging: z.string().optional(),
  workspace: z.string().optional(),
  /**
   * The attempt's ATTEMPT_ENV value: every process it started carries it, so those an owner that
   * died left running are found and killed, wherever they moved (see pipeline/processes.ts).
   */
  attemptTag: z.string().min(1).optional(),
  /** The harness's process group, killed if the owner died and left it running. */
  childPid: pid.optional(),
  childStart: z.string().optional(),
  /** The container of a docker-mode attempt, removed with the marker. */
  containerId: z.string().optional(),
});

export type RunningMarker = z.output<typeof markerSchema>;

/**
 * A marker file that holds no marker (empty, cut short, not JSON, of the wrong shape). A marker
 * is whole from the moment its name exists (see claimMarker), so this one's owner wrote it
 * wrongly or died with the disk: it is dead, cleaned up like a marker whose owner is gone.
 */
export interface CorruptMarker {
  corrupt: true;
  /** The attempt its file name claims. */
  attempt: string;
  path: string;
  why: string;
}

/** Reads a marker file: the marker, a corrupt one, or undefined when there is no file. */
export async function readMarker(path: string): Promise<RunningMarker | CorruptMarker | undefined> {
  const read = await readStored(path, markerSchema);
  if (read.ok) return read.value;
  if (read.reason === 'absent') return undefined;
  return {
    corrupt: true,
    attempt: basename(path).replace(/\.json(\.dead-.*)?$/, ''),
    path,
    why: read.reason === 'schema' ? `not a marker: ${read.problem}` : read.problem,
  };
}

export const isCorrupt = (m: RunningMarker | CorruptMarker): m is CorruptMarker => 'corrupt' in m;

/** `corrupt marker .../X.json (empty)`, for warnings and status. */
export const describeCorrupt = (m: CorruptMarker) => `corrupt marker ${m.path} (${m.why})`;

/** Field 22 of /proc/<pid>/stat: when the process started, in clock ticks since boot. */
export async function processStart(pid: number): Promise<string | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether `pid` is alive and, where /proc tells, is the same process that started at `start`. */
export async function isProcessAlive(pid: number, start: string | undefined): Promise<boolean> {
  try {
    process.kill(pid, 0);
  } catch (error) {
    if (errnoCode(error) !== 'EPERM') return false;
  }
  if (start === undefined) return true;
  const now = await processStart(pid);
  return now === undefined || now === start;
}

/** Markers from another host cannot be checked, so they count as alive. */
export async function isMarkerAlive(m: RunningMarker): Promise<boolean> {
  return m.host !== hostname() || (await isProcessAlive(m.pid, m.procStart));
}

export function markerPath(paths: StatePaths, attempt: string): string {
  return join(paths.running, `${attempt}.json`);
}

let ownStart: Promise<string | undefined> | undefined;

/** A marker describing this process. */
export async function ownMarker(runId: string, attempt: string): Promise<RunningMarker> {
  ownStart ??= processStart(process.pid);
  return {
    pid: process.pid,
    host: hostname(),
    procStart: await ownStart,
    runId,
    attempt,
    startedAt: new Date().toISOString(),
  };
}

/**
 * Creates the marker only if none exists, with its whole content at once: the content goes to a
 * temp file, made durable, that is then hard-linked to the marker name (link fails if the name
 * exists). So a marker is never seen part-written, not even after a power loss (which would
 * otherwise leave an empty file that looks taken). Returns the current holder when the attempt
 * is taken: a marker, or a corrupt one (which is dead); undefined when it went away meanwhile.
 */
export async function claimMarker(
  paths: StatePaths,
  marker: RunningMarker,
): Promise<true | RunningMarker | CorruptMarker | undefined> {
  const target = markerPath(paths, marker.attempt);
  const temp = tempPathFor(target);
  const taken = await atPath(target, async () => {
    await mkdir(paths.running, { recursive: true });
    try {
      await writeFile(temp, JSON.stringify(marker), { flag: 'wx' });
      await fsyncPath(temp);
      return await link(temp, target).then(
        () => false,
        (error: unknown) => {
          if (errnoCode(error) === 'EEXIST') return true;
          throw error;
        },
      );
    } finally {
      await rm(temp, { force: true });
    }
  });
  // The name itself is not made durable: a marker lost with a power loss is an owner gone with it.
  if (!taken) return true;
  return readMarker(target);
}

/**
 * Rewrites our own marker (to add the child pid, say), atomically. Not fsynced, which costs
 * milliseconds per attempt: after a power loss the harness and its container are gone too, and
 * the worst a lost write leaves is a marker that reads as corrupt, which counts as dead.
 */
export async function updateMarker(paths: StatePaths, marker: RunningMarker): Promise<void> {
  const path = markerPath(paths, marker.attempt);
  await atPath(path, () => writeJsonAtomic(path, marker, { durable: false }));
}

export async function releaseMarker(paths: StatePaths, attempt: string): Promise<void> {
  await rm(markerPath(paths, attempt), { force: true });
}

/** Every marker file of a benchmark, corrupt ones included. */
export async function readMarkerFiles(paths: StatePaths): Promise<(RunningMarker | CorruptMarker)[]> {
  let names: string[];
  try {
    names = await readdir(paths.running);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
  const markers = await Promise.all(
    names.filter((n) => n.endsWith('.json')).map((n) => readMarker(join(paths.running, n))),
  );
  return markers.filter((m) => m !== undefined);
}

/** The markers of the attempts running now (a corrupt marker runs nothing). */
export async function readMarkers(paths: StatePaths): Promise<RunningMarker[]> {
  return (await readMarkerFiles(paths)).filter((m): m is RunningMarker => !isCorrupt(m));
}

/**
 * Removes what a dead owner left of one attempt: its harness process group (if still running)
 * and every other process it started, its staging directory, and the marker. The marker is first
 * renamed away, so of two invocations cleaning at once only one proceeds; if what was renamed
 * turns out to belong to a live owner (it was replaced between the check and the rename), it is
 * put back.
 */
export async function reapMarker(paths: StatePaths, dead: RunningMarker | CorruptMarker): Promise<boolean> {
  const target = markerPath(paths, dead.attempt);
  const grave = `${target}.dead-${uniqueSuffix()}`;
  try {
    await rename(target, grave);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
  const read = await readMarker(grave);
  const moved = read && !isCorrupt(read) ? read : undefined;
  const replaced = moved && (isCorrupt(dead) || moved.pid !== dead.pid || moved.startedAt !== dead.startedAt);
  if (replaced && (await isMarkerAlive(moved))) {
    await link(grave, target).catch(() => undefined);
    await unlink(grave).catch(() => undefined);
    return false;
  }
  const m = moved ?? (isCorrupt(dead) ? undefined : dead);
  if (!m) {
    // A corrupt marker may be anything in a marker's place, a directory too.
    await rm(grave, { recursive: true, force: true });
    return true;
  }
  if (m.childPid && (await isProcessAlive(m.childPid, m.childStart))) {
    try {
      process.kill(-m.childPid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  if (m.attemptTag) await killTagged(m.attemptTag);
  if (m.staging) await rm(m.staging, { recursive: true, force: true });
  await rm(grave, { force: true });
  return true;
}

/** How often a wait on another invocation's marker looks again. */
const WAIT_POLL_MS = 200;

/** Resolves after `ms`, or at once when `signal` aborts. */
export const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });

/**
 * Takes `marker` whatever it takes: waits while a live invocation holds it (`onWait` is told of
 * each look), removes a dead owner's, and a corrupt one (`onCorrupt` told). False when `handled`
 * says there is nothing left to do (another invocation did it), asked between tries and once the
 * marker is held: then it is not held.
 */
export async function holdMarker(
  paths: StatePaths,
  marker: RunningMarker,
  how: {
    signal: AbortSignal;
    handled(): Promise<boolean>;
    onWait(owner: RunningMarker): void;
    onCorrupt(corrupt: CorruptMarker): void;
  },
): Promise<boolean> {
  for (;;) {
    if (how.signal.aborted) throw new CancelledError();
    const held = await claimMarker(paths, marker);
    if (held === true) {
      // Between planning and claiming another invocation may have finished it.
      if (!(await how.handled())) return true;
      await releaseMarker(paths, marker.attempt);
      return false;
    }
    if (held === undefined) {
      // Released between our link and our read: try again.
    } else if (isCorrupt(held)) {
      how.onCorrupt(held);
      await reapMarker(paths, held);
    } else if (await isMarkerAlive(held)) {
      how.onWait(held);
      await sleep(WAIT_POLL_MS, how.signal);
    } else {
      await reapMarker(paths, held);
    }
    if (await how.handled()) return false;
  }
}

/** Cleans every marker whose owner is gone, and every corrupt one; returns what it cleaned. */
export async function reapDeadMarkers(paths: StatePaths): Promise<(RunningMarker | CorruptMarker)[]> {
  const reaped: (RunningMarker | CorruptMarker)[] = [];
  for (const m of await readMarkerFiles(paths)) {
    if (isCorrupt(m) || !(await isMarkerAlive(m))) {
      if (await reapMarker(paths, m)) reaped.push(m);
    }
  }
  return reaped;
}

/** `.tmp-<pid>-<hex>`: a temp file or directory of process <pid> (see tempPathFor, uniqueSuffix). */
export const TEMP_NAME = /^\.tmp-(\d+)-[0-9a-f]+$/;

/** `<attempt>.<pid>-<hex>`: an attempt's staging directory, owned by process <pid>. */
export const STAGING_NAME = /\.(\d+)-[0-9a-f]+$/;

/**
 * Removes what a killed process left in `dirs` (a marker being written, a template being built,
 * a staging directory): the entries whose name matches `pattern`, whose owner pid (its first
 * group) is gone on this host, and that are not in `keep`.
 */
export async function reapDeadTemps(
  dirs: readonly string[],
  pattern = TEMP_NAME,
  keep: ReadonlySet<string> = new Set(),
): Promise<void> {
  for (const dir of dirs) {
    const names = await readdir(dir).catch(() => [] as string[]);
    for (const name of names) {
      const pid = Number(pattern.exec(name)?.[1]);
      const path = join(dir, name);
      if (pid && !keep.has(path) && !(await isProcessAlive(pid, undefined))) {
        await rm(path, { recursive: true, force: true });
      }
    }
  }
}
