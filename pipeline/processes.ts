import { randomBytes } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';

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
 * This user's live processes whose environment carries `tag` (Linux: /proc/<pid>/environ, which
 * a zombie no longer has). Elsewhere, or where /proc cannot be read, none are found.
 */
export async function taggedProcesses(tag: string): Promise<TaggedProcess[]> {
  const needle = Buffer.from(`\0${ATTEMPT_ENV}=${tag}\0`);
  const uid = process.getuid?.();
  const found: TaggedProcess[] = [];
  for (const name of await readdir('/proc').catch(() => [] as string[])) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) continue;
    const dir = `/proc/${name}`;
    // Gone meanwhile, or another user's: either way not ours to find.
    const owner = await stat(dir).then(
      (s) => s.uid,
      () => undefined,
    );
    if (owner === undefined || (uid !== undefined && owner !== uid)) continue;
    const environ = await readFile(`${dir}/environ`).catch(() => undefined);
    // Each variable ends in NUL; one in front makes the first one match like the others.
    if (!environ || !Buffer.concat([Buffer.from([0]), environ]).includes(needle)) continue;
    const comm = await readFile(`${dir}/comm`, 'utf8').then(
      (c) => c.trim(),
      () => '?',
    );
    found.push({ pid, comm });
  }
  return found;
}

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
    const found = await taggedProcesses(tag);
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
