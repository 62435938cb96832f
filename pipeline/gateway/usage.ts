import type { Transform } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { unreachable } from '../failures.js';
import { SseDataReader } from './sse.js';

/** The model-call APIs the agent CLIs speak: claude-code, codex and opencode, in that order. */
export type WireProtocol = 'anthropic-messages' | 'openai-responses' | 'openai-chat';

/** The model-call endpoints, by the end of the path, so a base URL with any prefix is still seen. */
const ENDPOINTS: ReadonlyArray<[RegExp, WireProtocol]> = [
  [/\/messages$/, 'anthropic-messages'],
  [/\/responses$/, 'openai-responses'],
  [/\/chat\/completions$/, 'openai-chat'],
];

/**
 * The protocol of a request that calls a model, or undefined for any other (`messages/count_tokens`,
 * a `GET` of a stored response, a model list), which has no usage to measure.
 */
export function protocolOf(method: string, path: string): WireProtocol | undefined {
  if (method.toUpperCase() !== 'POST') return undefined;
  const pathname = path.split('?', 1)[0] ?? '';
  return ENDPOINTS.find(([suffix]) => suffix.test(pathname))?.[1];
}

/** The tokens one model call used, as its response reported them. */
export interface Usage {
  /** Input not served from cache (what is billed at the full input price). */
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  /** Input written to the cache; always 0 for OpenAI, which does not bill cache writes. */
  cacheWriteTokens: number;
  /** USD, when the upstream reported it (OpenRouter's usage.cost) */
  reportedCostUsd?: number;
  /** the model the response names */
  model?: string;
}

/**
 * The most of a response the meter keeps at once: a whole JSON body, one SSE line or event, or
 * compressed bytes the decoder has yet to take. Usage is a few hundred bytes; beyond this, give up.
 */
export const MAX_KEPT_BYTES = 8 << 20;

/**
 * Reads the usage of one model response from a side copy of its bytes, as they stream to the
 * client. It never throws and never slows the stream: anything it cannot read (a corrupt or
 * unknown encoding, a body that is not JSON, one past MAX_KEPT_BYTES) just means no usage.
 */
export class UsageMeter {
  readonly #protocol: WireProtocol;
  readonly #body: { push(chunk: Buffer): void; end(): void };
  readonly #decoder: Transform | undefined;
  #seen: Partial<Usage> = {};
  #failed = false;
  #result: Promise<Usage | undefined> | undefined;

  constructor(protocol: WireProtocol, headers: { contentType?: string; contentEncoding?: string }) {
    this.#protocol = protocol;
    const take = (value: unknown) => this.#take(value);
    this.#body = headers.contentType?.toLowerCase().includes('text/event-stream')
      ? new SseDataReader((data) => take(parseJson(data)), MAX_KEPT_BYTES)
      : new JsonBody(take);
    const decoder = decoderFor(headers.contentEncoding);
    if (decoder === undefined) this.#failed = true;
    this.#decoder = decoder === 'identity' ? undefined : decoder;
    this.#decoder?.on('data', (out: Buffer) => this.#read(out));
    this.#decoder?.on('error', () => this.#fail());
  }

  /** Reads the next chunk of the response as it came from upstream; it must not change afterwards. */
  write(chunk: Buffer): void {
    if (this.#failed || this.#result) return;
    if (!this.#decoder) {
      this.#read(chunk);
      return;
    }
    this.#decoder.write(chunk);
    // The decoder works off the main thread; a backlog it cannot keep up with is not kept.
    if (this.#decoder.writableLength > MAX_KEPT_BYTES) this.#fail();
  }

  /**
   * The usage the response reported, once the last chunk is written, or undefined if it held
   * none. A promise, because a compressed body is decoded off the main thread; calling it again
   * gives the same answer.
   */
  end(): Promise<Usage | undefined> {
    this.#result ??= this.#finish();
    return this.#result;
  }

  async #finish(): Promise<Usage | undefined> {
    if (this.#decoder && !this.#failed) {
      this.#decoder.end();
      await finished(this.#decoder).catch(() => this.#fail());
    }
    if (this.#failed) return undefined;
    this.#body.end();
    return usageOf(this.#seen);
  }

  #read(bytes: Buffer): void {
    if (this.#failed) return;
    try {
      this.#body.push(bytes);
    } catch {
      // Nothing is meant to throw here; if something does, the stream it rides on must not break.
      this.#fail();
    }
  }

  #fail(): void {
    this.#failed = true;
    this.#decoder?.destroy();
  }

  /** Takes the counts one JSON value (an SSE event's data or a whole body) reports. */
  #take(value: unknown): void {
    const counts = Object.entries(readingOf(this.#protocol, value)).filter(([, v]) => v !== undefined);
    Object.assign(this.#seen, Object.fromEntries(counts));
  }
}

/** Keeps a JSON body, up to MAX_KEPT_BYTES, to parse at its end. */
class JsonBody {
  readonly #onValue: (value: unknown) => void;
  #chunks: Buffer[] = [];
  #bytes = 0;

  constructor(onValue: (value: unknown) => void) {
    this.#onValue = onValue;
  }

  push(chunk: Buffer): void {
    this.#bytes += chunk.length;
    if (this.#bytes > MAX_KEPT_BYTES) this.#chunks = [];
    else this.#chunks.push(chunk);
  }

  end(): void {
    if (this.#bytes <= MAX_KEPT_BYTES) this.#onValue(parseJson(Buffer.concat(this.#chunks).toString('utf8')));
  }
}

const DECODERS: Readonly<Record<string, () => Transform>> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  // As HTTP defines it: zlib-wrapped, not raw deflate.
  deflate: createInflate,
  br: createBrotliDecompress,
};

/**
 * A streaming decoder for a Content-Encoding; 'identity' for none; undefined for one it cannot
 * decode: unknown (Node 20 has no zstd) or stacked (`gzip, br`, which no model API sends).
 */
function decoderFor(contentEncoding: string | undefined): Transform | 'identity' | undefined {
  const codings = (contentEncoding ?? '')
    .toLowerCase()
    .split(',')
    .map((coding) => coding.trim())
    .filter((coding) => coding !== '' && coding !== 'identity');
  if (codings.length === 0) return 'identity';
  const coding = codings.length === 1 ? codings[0]! : '';
  return Object.hasOwn(DECODERS, coding) ? DECODERS[coding]!() : undefined;
}

/**
 * The usage fields one value reports; a field it does not report is undefined, so a later event
 * overrides only what it carries. Anthropic's message_delta counts are running totals, and
 * OpenAI reports usage once, so the last value seen of each field is the answer.
 */
function readingOf(protocol: WireProtocol, value: unknown): Partial<Usage> {
  switch (protocol) {
    case 'anthropic-messages':
      return anthropicReading(value);
    case 'openai-responses':
      // A streamed event wraps the response; a plain body is one.
      return openaiReading(field(value, 'response') ?? value, 'input_tokens', 'output_tokens');
    case 'openai-chat':
      return openaiReading(value, 'prompt_tokens', 'completion_tokens');
    default:
      return unreachable(protocol);
  }
}

/** Anthropic counts cache reads and writes apart from input_tokens. */
function anthropicReading(value: unknown): Partial<Usage> {
  // message_start wraps the message; message_delta and a plain body carry usage at the top.
  const message = field(value, 'type') === 'message_start' ? field(value, 'message') : value;
  const usage = field(message, 'usage');
  return {
    model: text(field(message, 'model')),
    inputTokens: count(field(usage, 'input_tokens')),
    outputTokens: count(field(usage, 'output_tokens')),
    cacheReadTokens: count(field(usage, 'cache_read_input_tokens')),
    cacheWriteTokens: count(field(usage, 'cache_creation_input_tokens')),
  };
}

/**
 * OpenAI counts cached tokens inside the input (`<input>_details.cached_tokens`), so they are
 * taken out of it here. Chat Completions names the fields prompt/completion, Responses input/output.
 */
function openaiReading(value: unknown, inputKey: string, outputKey: string): Partial<Usage> {
  const usage = field(value, 'usage');
  const reading = {
    model: text(field(value, 'model')),
    outputTokens: count(field(usage, outputKey)),
    reportedCostUsd: usd(field(usage, 'cost')),
  };
  const input = count(field(usage, inputKey));
  if (input === undefined) return reading;
  // Never more cached than input, so a wrong count cannot make the input negative.
  const cached = Math.min(count(field(field(usage, `${inputKey}_details`), 'cached_tokens')) ?? 0, input);
  return { ...reading, inputTokens: input - cached, cacheReadTokens: cached, cacheWriteTokens: 0 };
}

/** The usage seen, or undefined if no value reported any count. */
function usageOf(seen: Partial<Usage>): Usage | undefined {
  const { inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, reportedCostUsd, model } = seen;
  const counts = [inputTokens, outputTokens, cacheReadTokens, cacheWriteTokens, reportedCostUsd];
  if (counts.every((c) => c === undefined)) return undefined;
  return {
    inputTokens: inputTokens ?? 0,
    outputTokens: outputTokens ?? 0,
    cacheReadTokens: cacheReadTokens ?? 0,
    cacheWriteTokens: cacheWriteTokens ?? 0,
    ...(reportedCostUsd !== undefined && { reportedCostUsd }),
    ...(model !== undefined && { model }),
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    // `[DONE]`, a keep-alive, an HTML error page: not a value, so no usage in it.
    return undefined;
  }
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

/** A count as the wire gives it, or undefined for null, a string, a negative or a fraction of a token. */
function count(value: unknown): number | undefined {
  return Number.isSafeInteger(value) && (value as number) >= 0 ? (value as number) : undefined;
}

function usd(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
