const LF = 0x0a;
const CR = 0x0d;

/**
 * The `data` of each Server-Sent Event in a byte stream that arrives in chunks of any size. Lines
 * end at CR, LF or CRLF; an event's `data:` lines are joined with LF and handed on at the blank line
 * that ends the event. Other fields (`event:`, `id:`) and comments are skipped.
 *
 * Lines are cut on bytes and decoded only when whole: CR and LF never occur inside a multi-byte
 * UTF-8 character, so a character split across two chunks is decoded intact. Memory stays bounded
 * by `maxBytes`: a line or event longer than that is dropped, not kept.
 */
export class SseDataReader {
  readonly #onData: (data: string) => void;
  readonly #maxBytes: number;
  /** Pieces of the line not yet ended. */
  #line: Buffer[] = [];
  #lineBytes = 0;
  /** The previous chunk ended with CR, so an LF that starts this one ends no second line. */
  #afterCr = false;
  #data: string[] = [];
  #eventBytes = 0;
  /** Part of the current event was dropped for its size: the rest of it is not handed on. */
  #dropped = false;

  constructor(onData: (data: string) => void, maxBytes: number) {
    this.#onData = onData;
    this.#maxBytes = maxBytes;
  }

  /** Reads `chunk`, which must not change afterwards: an unended line keeps a view of it. */
  push(chunk: Buffer): void {
    let from = this.#afterCr && chunk[0] === LF ? 1 : 0;
    this.#afterCr = false;
    for (let end = lineEnd(chunk, from); end !== -1; end = lineEnd(chunk, from)) {
      this.#endLine(chunk.subarray(from, end));
      from = end + 1;
      if (chunk[end] === CR) {
        if (from === chunk.length) this.#afterCr = true;
        else if (chunk[from] === LF) from++;
      }
    }
    if (from < chunk.length) this.#keep(chunk.subarray(from));
  }

  /**
   * Ends the stream. An event the stream stops in is still handed on: a server that leaves out
   * the final blank line has sent its data all the same.
   */
  end(): void {
    if (this.#lineBytes > 0) this.#endLine(Buffer.alloc(0));
    this.#dispatch();
  }

  #keep(piece: Buffer): void {
    this.#lineBytes += piece.length;
    // Past the limit only the count goes on, so the event can be dropped when the line ends.
    if (this.#lineBytes > this.#maxBytes) this.#line = [];
    else this.#line.push(piece);
  }

  #endLine(last: Buffer): void {
    this.#keep(last);
    const pieces = this.#line;
    const bytes = this.#lineBytes;
    this.#line = [];
    this.#lineBytes = 0;
    if (bytes === 0) {
      this.#dispatch();
      return;
    }
    this.#eventBytes += bytes;
    if (this.#eventBytes > this.#maxBytes) this.#dropped = true;
    if (!this.#dropped) this.#field(Buffer.concat(pieces).toString('utf8'));
  }

  #field(line: string): void {
    // A line without a colon is a field name with an empty value.
    if (line === 'data') this.#data.push('');
    else if (line.startsWith('data:')) this.#data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
  }

  #dispatch(): void {
    if (!this.#dropped && this.#data.length > 0) this.#onData(this.#data.join('\n'));
    this.#data = [];
    this.#eventBytes = 0;
    this.#dropped = false;
  }
}

/** Where the line that starts at `from` ends (its CR or LF), or -1 if it goes on past the chunk. */
function lineEnd(chunk: Buffer, from: number): number {
  for (let i = from; i < chunk.length; i++) {
    if (chunk[i] === LF || chunk[i] === CR) return i;
  }
  return -1;
}
