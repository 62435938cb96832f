import type { ServerResponse } from 'node:http';
import type { ProtocolName } from './protocol.js';
import { sendJson } from './protocol.js';

/**
 * What the fake model API can be switched to do wrong, for tests of whatever stands between a
 * CLI and its API (a gateway that retries transient faults and classifies the others). A fault
 * applies to model calls only (`POST` messages, responses, chat/completions): token counts, model
 * lists and probes keep answering, as they do when a real API is overloaded.
 */
export type Fault = StatusFault | CutFault;

/** An HTTP error, with a body in the shape of the protocol's own API. */
export interface StatusFault {
  status: number;
  /** Fail only the next `times` model calls, then answer normally again; absent, fail them all. */
  times?: number;
  /** Seconds, sent as the `retry-after` header (both SDK families honour it). */
  retryAfter?: number;
  /**
   * Replaces the error type the status implies (see `errorBody`): `error.type` in Anthropic's
   * shape, `error.type` and `error.code` in OpenAI's (as its `insufficient_quota` has both).
   */
  errorType?: string;
}

/** The stream opens and the first events of a real reply go out, then the socket is destroyed. */
export interface CutFault {
  cut: true;
  times?: number;
}

/** How many writes a cut response gets through: SSE events, so the reply has begun but not ended. */
export const CUT_AFTER_EVENTS = 3;

export function isCut(fault: Fault): fault is CutFault {
  return 'cut' in fault;
}

/** The record's answer for a fault: `fault-529`, `cut`. */
export function faultAnswer(fault: Fault): `fault-${number}` | 'cut' {
  return isCut(fault) ? 'cut' : `fault-${fault.status}`;
}

/** The current fault and how many more model calls it fails; switchable while the server runs. */
export interface FaultSwitch {
  set(fault: Fault | undefined): void;
  /** The fault the next model call gets, counted against its `times`; `undefined` to serve it. */
  take(): Fault | undefined;
}

export function faultSwitch(initial?: Fault): FaultSwitch {
  let current: Fault | undefined;
  let left = Number.POSITIVE_INFINITY;
  const set = (fault: Fault | undefined) => {
    current = fault;
    left = fault?.times ?? Number.POSITIVE_INFINITY;
  };
  set(initial);
  return {
    set,
    take() {
      if (!current || left <= 0) return undefined;
      left -= 1;
      return current;
    },
  };
}

/** Anthropic's error types by status, from its API reference; other statuses fall back by class. */
const ANTHROPIC_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

/** OpenAI's `[type, code]` by status, as its API sends them; Chat Completions clones copy these. */
const OPENAI_TYPES: Record<number, [string, string | null]> = {
  400: ['invalid_request_error', null],
  401: ['invalid_request_error', 'invalid_api_key'],
  403: ['request_forbidden', 'unsupported_country_region_territory'],
  404: ['invalid_request_error', 'model_not_found'],
  429: ['requests', 'rate_limit_exceeded'],
};

/**
 * The error body a real API of this protocol sends for `status`: Anthropic
 * `{type: 'error', error: {type, message}}`, OpenAI `{error: {message, type, param, code}}`.
 */
export function errorBody(protocol: ProtocolName, status: number, errorType?: string): unknown {
  if (protocol === 'anthropic-messages') {
    const type =
      errorType ?? ANTHROPIC_TYPES[status] ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
    return { type: 'error', error: { type, message: `fake model server: ${type} (${status})` } };
  }
  const fallback: [string, string | null] =
    status >= 500 ? ['server_error', null] : ['invalid_request_error', null];
  const [type, code] = errorType ? [errorType, errorType] : (OPENAI_TYPES[status] ?? fallback);
  return { error: { message: `fake model server: ${code ?? type} (${status})`, type, param: null, code } };
}

/** Answers with a status fault: its status, its `retry-after`, the protocol's error body. */
export function sendFault(res: ServerResponse, protocol: ProtocolName, fault: StatusFault): void {
  if (fault.retryAfter !== undefined) res.setHeader('retry-after', String(fault.retryAfter));
  sendJson(res, fault.status, errorBody(protocol, fault.status, fault.errorType));
}

/**
 * Makes `res` die after `writes` writes: the last one is flushed, then the socket is destroyed, so
 * the client has the stream's first events and then a connection gone mid-body. Later writes and
 * `end` are dropped. A one-piece JSON body (`end(text)`, no stream) is cut after half its bytes.
 */
export function cutAfter(res: ServerResponse, writes: number): void {
  const write = res.write.bind(res) as (chunk: string | Buffer, done?: () => void) => boolean;
  let left = writes;
  const cut = (chunk: string | Buffer) => {
    left = 0;
    write(chunk, () => res.destroy());
  };
  res.write = ((chunk: string | Buffer) => {
    if (left <= 0) return true;
    left -= 1;
    if (left === 0) cut(chunk);
    else write(chunk);
    return true;
  }) as typeof res.write;
  res.end = ((chunk?: unknown) => {
    if (left <= 0) return res;
    const bytes = typeof chunk === 'string' || Buffer.isBuffer(chunk) ? Buffer.from(chunk) : undefined;
    if (bytes) cut(bytes.subarray(0, Math.ceil(bytes.length / 2)));
    else res.destroy();
    return res;
  }) as typeof res.end;
}
