import { readFile, writeFile } from 'node:fs/promises';
import { Transform } from 'node:stream';

/** What every token is replaced with. */
export const MASK = '***';

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

  /** Whether `data` holds any secret; cheap enough to scan whole files with. */
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
   * Masks secrets where they lie, with as many `*` as the secret has bytes, so a binary file (a
   * CLI's SQLite state, say) keeps its layout. For files the tool keeps but did not write: the
   * temp workspace and the harness's own state. Returns whether the file held one.
   */
  async scrubFile(path: string): Promise<boolean> {
    if (!this.active) return false;
    const data = await readFile(path);
    if (!this.contains(data)) return false;
    for (const s of this.#secrets) {
      for (let at = data.indexOf(s); at !== -1; at = data.indexOf(s, at + s.length))
        data.fill('*', at, at + s.length);
    }
    await writeFile(path, data);
    return true;
  }

  /** The length of the longest tail of `data` that is a proper prefix of some secret. */
  #openTail(data: Buffer): number {
    for (let n = Math.min(data.length, this.#longest - 1); n > 0; n--) {
      const tail = data.subarray(data.length - n);
      if (this.#secrets.some((s) => s.length > n && s.subarray(0, n).equals(tail))) return n;
    }
    return 0;
  }

  /** A transform that masks secrets in a byte stream, streaming as it goes. */
  stream(): Transform {
    let pending: Buffer = Buffer.alloc(0);
    return new Transform({
      transform: (chunk: Buffer, _encoding, done) => {
        const data = this.redactBuffer(Buffer.concat([pending, chunk]));
        // Hold back only a tail that could be the start of a secret the next chunk completes, so
        // ordinary output (a whole line, say) is never delayed behind the next write.
        const cut = data.length - this.#openTail(data);
        pending = data.subarray(cut);
        done(null, data.subarray(0, cut));
      },
      flush: (done) => done(null, this.redactBuffer(pending)),
    });
  }
}
