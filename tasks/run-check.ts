import { Writable } from 'node:stream';
import type { Masker, Redactor } from '../pipeline/redact.js';
import { CancelledError, throwIfAborted } from '../pipeline/task.js';
import { type CheckContainer, type CheckEnded, checkInContainer, checkOnHost } from './check-process.js';
import { HarnessOutput } from './harness-output.js';

/**
 * Runs ONE score check (runner.yaml `scoring.checks[i].run`) in a scoring workspace the scorer
 * has prepared, and says how it ended. A check that exits non-zero is a result, not an error;
 * what is an error is an engine or host that failed us (an InfraError with its reason), or a
 * cancellation (CancelledError: no result at all, so it can never be taken for a zero).
 */

export interface CheckSpec {
  /** The shell command (`sh -c`). */
  run: string;
  /** The scoring workspace on the host: the check's working directory (/workspace in a container). */
  workspace: string;
  timeoutMs: number;
  /**
   * `none`: no network but loopback. Enforced in docker mode only: in lite mode the check runs on
   * this machine and reaches whatever it reaches (recorded as an isolation deviation by the caller).
   */
  network: 'none' | 'open';
  /**
   * Where the check's stdout and stderr go, interleaved, redacted. Created here: it must not
   * exist yet.
   */
  logPath: string;
  redactor: Redactor;
  /**
   * Aborted: the check is stopped (its process group killed, its container removed) and runCheck
   * throws CancelledError.
   */
  signal: AbortSignal;
  /**
   * The tag (see processes.ts) every process of the check carries in its environment, so that an
   * invocation that finds this one dead can kill what the check left running (the score's marker
   * holds it).
   */
  tag: string;
  /**
   * docker mode: run in a new container from this image digest (which the engine must hold);
   * absent: lite mode, on the host, with a clean environment (PATH, a fresh HOME, LANG, TZ).
   */
  container?: CheckContainer;
}

export interface CheckRan {
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** The last non-empty line of output, redacted, at most 1 KiB (for `SCORE n/max`). */
  lastLine: string;
}

/** The longest lastLine, in bytes: a longer line keeps its end, where a score is printed. */
export const LAST_LINE_BYTES = 1024;

export async function runCheck(spec: CheckSpec): Promise<CheckRan> {
  throwIfAborted(spec.signal);
  const output = await HarnessOutput.open(
    spec.redactor,
    { log: spec.logPath, transcript: undefined },
    undefined,
  );
  const last = new LastLine(spec.redactor);
  const check = {
    run: spec.run,
    workspace: spec.workspace,
    timeoutMs: spec.timeoutMs,
    network: spec.network,
    tag: spec.tag,
    stdout: tee(output.stdout, last),
    stderr: tee(output.stderr, last),
    // A log that cannot be written stops the check, as a cancellation would: it has no evidence.
    stop: AbortSignal.any([spec.signal, output.failed]),
  };
  let ended: CheckEnded;
  try {
    ended = spec.container ? await checkInContainer(check, spec.container) : await checkOnHost(check);
  } finally {
    await output.close();
  }
  if (output.failure) throw output.failure;
  if (spec.signal.aborted) throw new CancelledError();
  return { ...ended, lastLine: last.line() };
}

/**
 * A writable that hands each chunk to `target` (the log, waiting while it is full) and to `last`.
 * Once the log is closed, what still arrives (a stream cut off at its drain) is dropped.
 */
function tee(target: Writable, last: LastLine): Writable {
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      if (target.writableEnded) return done();
      last.feed(chunk);
      target.write(chunk, () => done());
    },
  });
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * The last non-empty line of a byte stream, masked as the log is: its bytes go through a masker
 * of their own, in the order they reach the log, before any line is cut, so a secret is masked
 * whole even in a line cut to its end. `\r` ends a line too (a progress bar redrawing itself).
 */
class LastLine {
  readonly #masker: Masker;
  #current = Buffer.alloc(0);
  #last = Buffer.alloc(0);

  constructor(redactor: Redactor) {
    this.#masker = redactor.masker();
  }

  feed(chunk: Buffer): void {
    this.#take(this.#masker.push(chunk));
  }

  /** The line, once the output has ended. */
  line(): string {
    this.#take(this.#masker.end());
    this.#endLine();
    // A line cut to its end may start inside a character: those bytes are dropped.
    let from = 0;
    while (from < this.#last.length && (this.#last[from]! & 0xc0) === 0x80) from++;
    return this.#last.subarray(from).toString('utf8').trimEnd();
  }

  #take(data: Buffer): void {
    let from = 0;
    for (let at = 0; at < data.length; at++) {
      if (data[at] !== LF && data[at] !== CR) continue;
      this.#append(data.subarray(from, at));
      this.#endLine();
      from = at + 1;
    }
    this.#append(data.subarray(from));
  }

  /** Adds to the line being read, keeping at most its last LAST_LINE_BYTES. */
  #append(part: Buffer): void {
    if (!part.length) return;
    const joined = part.length >= LAST_LINE_BYTES ? part : Buffer.concat([this.#current, part]);
    // A copy: the chunk's memory may be reused by its source.
    this.#current = Buffer.from(joined.subarray(Math.max(0, joined.length - LAST_LINE_BYTES)));
  }

  #endLine(): void {
    if (/\S/.test(this.#current.toString('latin1'))) this.#last = this.#current;
    this.#current = Buffer.alloc(0);
  }
}
