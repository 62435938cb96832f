import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { CliName, OfferedTool, Reply } from './script.js';
import type { Usage } from './usage.js';

/** The wire protocols the fake server speaks, one per agent CLI. */
export type ProtocolName = 'anthropic-messages' | 'openai-responses' | 'openai-chat';

/**
 * One wire protocol: how to read the script's inputs out of a request body, and how to encode a
 * reply, streamed (SSE) or as one JSON body, the way the real API does.
 */
export interface Protocol {
  name: ProtocolName;
  /** The CLI that speaks it, for the content of `hello.txt`. */
  cli: CliName;
  tools(body: Record<string, unknown>): OfferedTool[];
  hasToolResult(body: Record<string, unknown>): boolean;
  /**
   * Writes the whole response and ends it, reporting `usage` in the protocol's own shape; returns
   * the usage as the response reported it, `undefined` when it reported none.
   */
  send(res: ServerResponse, body: Record<string, unknown>, reply: Reply, usage: Usage): Usage | undefined;
}

/** The key a request carried: `x-api-key` (Anthropic) or `Authorization: Bearer` (both). */
export function apiKeyOf(headers: IncomingHttpHeaders): string | undefined {
  const direct = headers['x-api-key'];
  if (typeof direct === 'string' && direct) return direct;
  const auth = headers.authorization;
  const m = typeof auth === 'string' ? /^Bearer\s+(.+)$/i.exec(auth) : null;
  return m?.[1];
}

/** Starts an SSE response; the headers go out at once so a client sees the stream open. */
export function openSse(res: ServerResponse): void {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-cache',
    connection: 'keep-alive',
  });
  res.flushHeaders();
}

/** One SSE event; `event:` is omitted for protocols (Chat Completions) that send data only. */
export function sseEvent(res: ServerResponse, event: string | undefined, data: unknown): void {
  const payload = typeof data === 'string' ? data : JSON.stringify(data);
  res.write(`${event ? `event: ${event}\n` : ''}data: ${payload}\n\n`);
}

export function sendJson(res: ServerResponse, status: number, data: unknown): void {
  const text = JSON.stringify(data);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Top-level property names of a JSON schema, or none when it is not an object schema. */
export function schemaProperties(schema: unknown): string[] {
  const props = (schema as { properties?: unknown } | undefined)?.properties;
  return props && typeof props === 'object' ? Object.keys(props) : [];
}

/** Ids unique within the process, in each API's own prefix style (`toolu_`, `call_`, ...). */
let counter = 0;
export function fakeId(prefix: string): string {
  counter += 1;
  return `${prefix}fake${String(counter).padStart(6, '0')}`;
}

export function asArray(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [];
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A text cut in two (one piece when short), so clients must join streamed deltas as with a real model. */
export function halves(text: string): string[] {
  const mid = Math.ceil(text.length / 2);
  return [text.slice(0, mid), text.slice(mid)].filter((s) => s.length > 0);
}
