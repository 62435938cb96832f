import { once } from 'node:events';
import { createWriteStream, type WriteStream } from 'node:fs';
import { Writable } from 'node:stream';
import { type InfraError, ioError } from '../pipeline/errors.js';
import type { Redactor } from '../pipeline/redact.js';

/** How many bytes of stderr are kept to explain a failure. */
const STDERR_TAIL = 2_000;

/** A stream to a file the tool creates (it must not exist yet), once the file is open. */
async function openFile(path: string): Promise<WriteStream> {
  const file = createWriteStream(path, { flags: 'wx' });
  try {
    await once(file, 'open');
  } catch (error) {
    throw ioError(error, path);
  }
  return file;
}

/**
 * Where a harness's output goes, as it comes. stdout and stderr are merged in arrival order into
 * ONE redactor in front of agent-run.log, so what is masked is the bytes the log gets: a token
 * written half to each stream is masked too. stdout also goes through a redactor of its own into
 * the transcript and its reader, stderr into a tail kept to explain a failure.
 *
 * A write that fails (a full disk) becomes `failure` and aborts `failed`, so the harness is
 * stopped; from then on its output is dropped, so that no pipe stalls and nothing waits on a
 * stream that cannot move.
 */
export class HarnessOutput {
  /** Where the harness's stdout and stderr are written (never ended by their sources). */
  readonly stdout: Writable;
  readonly stderr: Writable;
  readonly #failed = new AbortController();
  #failure: InfraError | undefined;
  #closed = false;
  #stderrTail = '';
  readonly #merged: Writable;
  readonly #transcribed: Writable | undefined;
  readonly #tail: Writable;
  readonly #files: WriteStream[];

  private constructor(
    redactor: Redactor,
    log: { path: string; file: WriteStream },
    transcript: { path: string; file: WriteStream; events: Writable } | undefined,
  ) {
    this.#files = [log.file, ...(transcript ? [transcript.file] : [])];
    const merged = redactor.stream();
    merged.pipe(log.file);
    this.#merged = merged;
    log.file.on('error', (error) => this.#fail(error, log.path));
    if (transcript) {
      const transcribed = redactor.stream();
      transcribed.pipe(transcript.file);
      transcribed.pipe(transcript.events);
      transcript.file.on('error', (error) => this.#fail(error, transcript.path));
      this.#transcribed = transcribed;
    }
    const tail = redactor.stream();
    tail.on('data', (chunk: Buffer) => {
      this.#stderrTail = (this.#stderrTail + chunk.toString()).slice(-STDERR_TAIL);
    });
    this.#tail = tail;
    this.stdout = this.#inlet([merged, ...(this.#transcribed ? [this.#transcribed] : [])]);
    this.stderr = this.#inlet([merged, tail]);
  }

  /** Creates agent-run.log (and, with a reader, the transcript) at `paths`. */
  static async open(
    redactor: Redactor,
    paths: { log: string; transcript: string | undefined },
    events: Writable | undefined,
  ): Promise<HarnessOutput> {
    const log = { path: paths.log, file: await openFile(paths.log) };
    try {
      const transcript =
        paths.transcript && events
          ? { path: paths.transcript, file: await openFile(paths.transcript), events }
          : undefined;
      return new HarnessOutput(redactor, log, transcript);
    } catch (error) {
      log.file.destroy();
      throw error;
    }
  }

  /** Aborted at the first failed write: stop the harness. */
  get failed(): AbortSignal {
    return this.#failed.signal;
  }

  /** The first write that failed, naming its file. */
  get failure(): InfraError | undefined {
    return this.#failure;
  }

  /** The end of stderr, masked. */
  get stderrTail(): string {
    return this.#stderrTail;
  }

  /**
   * Flushes what the harness wrote into the files and closes them; resolves once they are closed,
   * also when a write failed (then `failure` says which).
   */
  async close(): Promise<void> {
    for (const inlet of [this.stdout, this.stderr]) inlet.end();
    await Promise.all([this.stdout, this.stderr].map((inlet) => settled(inlet, 'finish')));
    this.#closed = true;
    for (const s of [this.#merged, this.#transcribed, this.#tail]) s?.end();
    await Promise.all(this.#files.map((file) => settled(file, 'close')));
  }

  #fail(error: unknown, path: string): void {
    this.#failure ??= ioError(error, path) as InfraError;
    this.#failed.abort();
  }

  /** A writable that hands each chunk to every target, waiting while one is full. */
  #inlet(targets: Writable[]): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        Promise.all(targets.map((t) => this.#put(t, chunk))).then(() => done(), done);
      },
    });
  }

  /** Writes to `target`; resolves when it takes more, or at once when output is dropped. */
  #put(target: Writable, chunk: Buffer): Promise<void> {
    if (this.#failure || this.#closed || target.write(chunk)) return Promise.resolve();
    return new Promise((resolve) => {
      const go = () => {
        target.off('drain', go);
        this.#failed.signal.removeEventListener('abort', go);
        resolve();
      };
      target.once('drain', go);
      this.#failed.signal.addEventListener('abort', go, { once: true });
    });
  }
}

/** Resolves when `stream` has emitted `event`, or is already past it, or errored. */
function settled(stream: Writable, event: 'finish' | 'close'): Promise<void> {
  if (event === 'close' ? stream.closed : stream.writableFinished || stream.destroyed)
    return Promise.resolve();
  return new Promise((resolve) => {
    stream.once(event, () => resolve());
    stream.once('error', () => resolve());
    stream.once('close', () => resolve());
  });
}
