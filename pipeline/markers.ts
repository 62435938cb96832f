import { link, mkdir, readdir, readFile, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { errnoCode } from './errors.js';
import { readJsonOrUndefined, tempPathFor, writeJsonAtomic } from './fs-atomic.js';
import type { StatePaths } from './state.js';
import { uniqueSuffix } from './state.js';

/** Who is running an attempt. It exists exactly while the attempt runs. */
export interface RunningMarker {
  pid: number;
  host: string;
  /** The owner's start time from /proc, so a reused pid is not mistaken for the owner. */
  procStart: string | undefined;
  runId: string;
  attempt: string;
  startedAt: string;
  staging?: string;
  workspace?: string;
  /** The harness's process group, killed if the owner died and left it running. */
  childPid?: number;
  childStart?: string;
  /** The container of a docker-mode attempt, removed with the marker. */
  containerId?: string;
}

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
 * temp file that is then hard-linked to the marker name (link fails if the name exists).
 * Returns the current holder when the attempt is taken.
 */
export async function claimMarker(paths: StatePaths, marker: RunningMarker): Promise<true | RunningMarker> {
  const target = markerPath(paths, marker.attempt);
  const temp = tempPathFor(target);
  await mkdir(paths.running, { recursive: true });
  try {
    // Not fsynced: a marker means something only while its owner lives, and a power loss ends that.
    await writeFile(temp, JSON.stringify(marker), { flag: 'wx' });
    const taken = await link(temp, target).then(
      () => false,
      (error: unknown) => {
        if (errnoCode(error) === 'EEXIST') return true;
        throw error;
      },
    );
    if (!taken) return true;
  } finally {
    await rm(temp, { force: true });
  }
  const holder = await readJsonOrUndefined<RunningMarker>(target);
  // Unreadable only in the instant between another claimer's link and our read: count it as held.
  return holder ?? { ...marker, pid: -1, host: 'unknown' };
}

/** Rewrites our own marker (to add the child pid, say). */
export async function updateMarker(paths: StatePaths, marker: RunningMarker): Promise<void> {
  await writeJsonAtomic(markerPath(paths, marker.attempt), marker, { durable: false });
}

export async function releaseMarker(paths: StatePaths, attempt: string): Promise<void> {
  await rm(markerPath(paths, attempt), { force: true });
}

export async function readMarkers(paths: StatePaths): Promise<RunningMarker[]> {
  let names: string[];
  try {
    names = await readdir(paths.running);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
  const markers = await Promise.all(
    names
      .filter((n) => n.endsWith('.json'))
      .map((n) => readJsonOrUndefined<RunningMarker>(join(paths.running, n))),
  );
  return markers.filter((m): m is RunningMarker => m !== undefined);
}

/**
 * Removes what a dead owner left of one attempt: its harness process group (if still running),
 * its staging directory, and the marker. The marker is first renamed away, so of two invocations
 * cleaning at once only one proceeds; if what was renamed turns out to belong to a live owner
 * (it was replaced between the check and the rename), it is put back.
 */
export async function reapMarker(paths: StatePaths, dead: RunningMarker): Promise<boolean> {
  const target = markerPath(paths, dead.attempt);
  const grave = `${target}.dead-${uniqueSuffix()}`;
  try {
    await rename(target, grave);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return false;
    throw error;
  }
  const moved = await readJsonOrUndefined<RunningMarker>(grave);
  if (
    moved &&
    (moved.pid !== dead.pid || moved.startedAt !== dead.startedAt) &&
    (await isMarkerAlive(moved))
  ) {
    await link(grave, target).catch(() => undefined);
    await unlink(grave).catch(() => undefined);
    return false;
  }
  const m = moved ?? dead;
  if (m.childPid && (await isProcessAlive(m.childPid, m.childStart))) {
    try {
      process.kill(-m.childPid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }
  if (m.staging) await rm(m.staging, { recursive: true, force: true });
  await rm(grave, { force: true });
  return true;
}

/** Cleans every marker whose owner is gone; returns the attempts made missing again. */
export async function reapDeadMarkers(paths: StatePaths): Promise<RunningMarker[]> {
  const reaped: RunningMarker[] = [];
  for (const m of await readMarkers(paths)) {
    if (!(await isMarkerAlive(m))) {
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
