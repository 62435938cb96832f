import { type FileHandle, open } from 'node:fs/promises';
import { Transform } from 'node:stream';

/** What every token is replaced with. */
export const MASK = '***';

/** Bytes read at a time when a file is searched or masked, so memory stays bounded for any file size. */
export const FILE_CHUNK = 1 << 20;

/** Below this many characters a value is a placeholder (`test`, `none`, `dummy`), not a key. */
export const MIN_SECRET_LENGTH = 16;

/** One word of letters in one case (`none`, `PLACEHOLDER`, `Dummy`): what a person types, not what a vendor issues. */
const PLAIN_WORD = /^(?:[a-z]+|[A-Z]+|[A-Z][a-z]+)$/;

/**
 * Whether `value` can be a real secret. Masking a placeholder such as `test` or `none` would
 * rewrite every occurrence of that word in an agent's work (`import { *** } from 'node:***'`),
 * so values shorter than MIN_SECRET_LENGTH, and plain words however long, are never used as mask
 * patterns. Issued keys are long and mix cases, digits or punctuation.
 */
export function isSecretLike(value: string): boolean {
  return value.length >= MIN_SECRET_LENGTH && !PLAIN_WORD.test(value);
}

/** See Redactor.masker. */
export interface Masker {
  push(chunk: Buffer): Buffer;
  end(): Buffer;
  masked: boolean;
}

/**
 * Replaces secret values with `***`. Every byte the tool writes to disk, and every line it prints,
 * goes through one of these. The stream form holds back just enough bytes to catch a secret that
 * is split across two chunks, so output is still streamed rather than buffered to the end. Values
 * that are not secret-like (see isSecretLike) are ignored.
 */
export class Redactor {
  readonly #secrets: Buffer[];
  readonly #longest: number;

  constructor(secrets: Iterable<string | undefined>) {
    // Longest first, so a secret that contains another is masked whole.
    const unique = [...new Set([...secrets].filter((s): s is string => !!s && isSecretLike(s)))];
    this.#secrets = unique.sort((a, b) => b.length - a.length).map((s) => Buffer.from(s));
    this.#longest = this.#secrets.reduce((n, s) => Math.max(n, s.length), 0);
  }

  get active(): boolean {
    return this.#secrets.length > 0;
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.#secrets) out = out.split(s.toString()).join(MASK);
    return out;
  }

  /** Whether `data` holds any secret. */
  contains(data: Buffer): boolean {
    return this.#secrets.some((s) => data.includes(s));
  }

  redactBuffer(data: Buffer): Buffer {
    if (!this.contains(data)) return data;
    let out = data;
    for (const s of this.#secrets) {
      const parts: Buffer[] = [];
      let from = 0;
      for (let at = out.indexOf(s); at !== -1; at = out.indexOf(s, from)) {
        parts.push(out.subarray(from, at), Buffer.from(MASK));
        from = at + s.length;
      }
      parts.push(out.subarray(from));
      out = Buffer.concat(parts);
    }
    return out;
  }

  /**
   * Whether the file at `path` holds a secret, read FILE_CHUNK bytes at a time with an overlap of
   * one byte less than the longest secret, so one split across two reads is still found.
   */
  async fileContains(path: string): Promise<boolean> {
    if (!this.active) return false;
    let found = false;
    await this.#windows(path, 'r', (window) => {
      found = this.contains(window.data);
      return found;
    });
    return found;
  }

  /**
   * Masks secrets where they lie, with as many `*` as the secret has bytes, so a binary file (a
   * CLI's SQLite state, say) keeps its layout and a sparse file its holes: only the bytes of a
   * secret are written. For files the tool keeps but did not write: the temp workspace and the
   * harness's own state. Streams, so memory stays bounded. Returns whether the file held one.
   */
  async scrubFile(path: string): Promise<boolean> {
    if (!this.active) return false;
    let found = false;
    await this.#windows(path, 'r+', async ({ data, position, owned }, handle) => {
      for (const s of this.#secrets) {
        for (let at = data.indexOf(s); at !== -1 && at < owned; at = data.indexOf(s, at + s.length)) {
          // Filled here too, so a shorter secret inside this one is not matched again.
          data.fill('*', at, at + s.length);
          await handle.write(data, at, s.length, position + at);
          found = true;
        }
      }
      return false;
    });
    return found;
  }

  /**
   * Calls `visit` with successive windows of the file: up to FILE_CHUNK bytes it "owns" (a secret that
   * starts there is its to handle) plus the next longest-1 bytes, so any secret starting in the
   * owned part lies wholly in the window. Stops when `visit` returns true.
   */
  async #windows(
    path: string,
    flags: 'r' | 'r+',
    visit: (
      window: { data: Buffer; position: number; owned: number },
      handle: FileHandle,
    ) => boolean | Promise<boolean>,
  ): Promise<void> {
    const handle = await open(path, flags);
    try {
      // No bigger than the file: most are small, and a whole chunk each would be wasted.
      const chunk = Math.max(1, Math.min(FILE_CHUNK, (await handle.stat()).size));
      const buffer = Buffer.allocUnsafe(chunk + this.#longest - 1);
      for (let position = 0; ; position += chunk) {
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
        if (bytesRead === 0) return;
        const data = buffer.subarray(0, bytesRead);
        if (await visit({ data, position, owned: Math.min(chunk, bytesRead) }, handle)) return;
        if (bytesRead < buffer.length) return;
      }
    } finally {
      await handle.close();
    }
  }

  /** The length of the longest tail of `data` that is a proper prefix of some secret. */
  #openTail(data: Buffer): number {
    for (let n = Math.min(data.length, this.#longest - 1); n > 0; n--) {
      const tail = data.subarray(data.length - n);
      if (this.#secrets.some((s) => s.length > n && s.subarray(0, n).equals(tail))) return n;
    }
    return 0;
  }

  /**
   * Masks a byte sequence given in chunks: `push` returns what can be passed on now, holding back
   * only a tail that could be the start of a secret the next chunk completes; `end` the rest.
   * `masked` tells whether any secret was found so far.
   */
  masker(): Masker {
    let pending: Buffer = Buffer.alloc(0);
    const mask = (data: Buffer) => {
      const out = this.redactBuffer(data);
      if (out !== data) masker.masked = true;
      return out;
    };
    const masker: Masker = {
      masked: false,
      push: (chunk) => {
        const data = mask(pending.length ? Buffer.concat([pending, chunk]) : chunk);
        const cut = data.length - this.#openTail(data);
        // A copy: the caller may reuse the chunk's memory for its next read.
        pending = Buffer.from(data.subarray(cut));
        return data.subarray(0, cut);
      },
      end: () => mask(pending),
    };
    return masker;
  }

  /** A transform that masks secrets in a byte stream, streaming as it goes. */
  stream(): Transform {
    const masker = this.masker();
    return new Transform({
      // Ordinary output (a whole line, say) is never delayed behind the next write.
      transform: (chunk: Buffer, _encoding, done) => done(null, masker.push(chunk)),
      flush: (done) => done(null, masker.end()),
    });
  }
}
