import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Every process an attempt starts carries this variable, with a value of that attempt's own:
 * environments are inherited by every descendant, also one that leaves the process group or the
 * session (a `setsid` daemon), which a process group kill does not reach.
 */
export const ATTEMPT_ENV = 'BENCH_PIPELINE_ATTEMPT_ID';

/** A fresh value for ATTEMPT_ENV: unguessable, so no other process carries it by chance. */
export const newAttemptTag = (): string => randomBytes(12).toString('hex');

export interface TaggedProcess {
  pid: number;
  /** Its command name (`/proc/<pid>/comm`), for the record. */
  comm: string;
}

/**
 * The live processes whose environment carries `tag` (Linux: /proc/<pid>/environ, which a zombie
 * no longer has, and which another user's process does not let us read). Elsewhere, or where
 * /proc cannot be read, none are found. The tag is unguessable, so whatever carries it descends
 * from the attempt. Read synchronously: procfs answers from memory, and a scan of a few hundred
 * processes through the thread pool cost tens of milliseconds per attempt, this a few.
 */
export function taggedProcesses(tag: string): TaggedProcess[] {
  const needle = Buffer.from(`\0${ATTEMPT_ENV}=${tag}\0`);
  const found: TaggedProcess[] = [];
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const name of names) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${name}/environ`);
    } catch {
      continue; // Gone meanwhile, or not ours to read.
    }
    // Each variable ends in NUL; one in front makes the first one match like the others.
    if (!Buffer.concat([NUL, environ]).includes(needle)) continue;
    let comm = '?';
    try {
      comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
    } catch {
      // Gone meanwhile: still named by its pid.
    }
    found.push({ pid, comm });
  }
  return found;
}

const NUL = Buffer.from([0]);

/** Scans again this often while killed processes are on their way out. */
const KILL_POLL_MS = 20;
/** After this long, what still stands is left (a process in uninterruptible sleep). */
const KILL_WAIT_MS = 2_000;

/**
 * Kills (SIGKILL) every process that carries `tag`, scanning again until none is left (one may
 * fork while it is being killed). Returns those it killed.
 */
export async function killTagged(tag: string): Promise<TaggedProcess[]> {
  const killed = new Map<number, TaggedProcess>();
  for (const end = Date.now() + KILL_WAIT_MS; Date.now() < end; ) {
    const found = taggedProcesses(tag);
    if (!found.length) break;
    for (const p of found) {
      try {
        process.kill(p.pid, 'SIGKILL');
        if (!killed.has(p.pid)) killed.set(p.pid, p);
      } catch {
        // Gone already.
      }
    }
    await new Promise((resolve) => setTimeout(resolve, KILL_POLL_MS));
  }
  return [...killed.values()];
}

/** `killed 2 processes that outlived the harness: 4242 (sh), 4250 (sleep)` */
export function describeKilled(killed: readonly TaggedProcess[]): string {
  const n = killed.length;
  const list = killed.map((p) => `${p.pid} (${p.comm})`).join(', ');
  return `killed ${n} process${n === 1 ? '' : 'es'} that outlived the harness: ${list}`;
}
