import type { IncomingHttpHeaders, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { basePathOf } from '../../tasks/harnesses/adapter.js';
import { CAPABILITY_PREFIX, type Route } from './lease.js';

/** How the gateway reads and writes HTTP: headers as they go each way, URLs, bodies, its own errors. */

/** Hop-by-hop headers, never forwarded (RFC 9110 7.6.1), and the host, which is the upstream's. */
const HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'host',
]);

/** Error bodies are small; a bigger one is cut, since only its type is read. */
export const ERROR_BODY_LIMIT = 64 * 1024;

/** The capability a request carries, where a client puts an API key. */
export function capabilityOf(headers: IncomingHttpHeaders): string | undefined {
  const direct = headers['x-api-key'];
  if (typeof direct === 'string' && direct.startsWith(CAPABILITY_PREFIX)) return direct;
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
  return bearer?.startsWith(CAPABILITY_PREFIX) ? bearer : undefined;
}

/** The request's headers as they go upstream: only the capability is replaced, by the real key. */
export function upstreamHeaders(
  headers: IncomingHttpHeaders,
  key: string | undefined,
  length: number,
): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (!HOP.has(name) && value !== undefined) out[name] = value;
  if (typeof out['x-api-key'] === 'string' && out['x-api-key'].startsWith(CAPABILITY_PREFIX)) {
    if (key) out['x-api-key'] = key;
    else delete out['x-api-key'];
  }
  if (typeof out.authorization === 'string' && capabilityOf({ authorization: out.authorization })) {
    if (key) out.authorization = `Bearer ${key}`;
    else delete out.authorization;
  }
  out['content-length'] = String(length);
  return out;
}

export function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers))
    if (!HOP.has(name) && value !== undefined) out[name] = value;
  return out;
}

/** The upstream URL of a request: the route's base plus the path after the family's base path. */
export function upstreamUrl(route: Route, path: string): URL {
  const prefix = basePathOf(route.family);
  const rest =
    prefix && (path === prefix || path.startsWith(`${prefix}/`) || path.startsWith(`${prefix}?`))
      ? path.slice(prefix.length)
      : path;
  return new URL(
    route.upstream.replace(/\/+$/, '') + (rest.startsWith('/') || rest.startsWith('?') ? rest : `/${rest}`),
  );
}

export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The model a request body asks for, when it is JSON with a `model`. */
export function modelOf(body: Buffer): string | undefined {
  try {
    const model = (JSON.parse(body.toString('utf8')) as { model?: unknown }).model;
    return typeof model === 'string' ? model : undefined;
  } catch {
    return undefined;
  }
}

/** An error body as the API wrote it, before content-encoding; as it is when it cannot be decoded. */
export function decoded(body: Buffer, encoding: string | undefined): Buffer {
  try {
    if (encoding === 'gzip') return gunzipSync(body);
    if (encoding === 'br') return brotliDecompressSync(body);
    if (encoding === 'deflate') return inflateSync(body);
  } catch {
    // Cut at ERROR_BODY_LIMIT, or not what it says: only its type is lost.
  }
  return body;
}

export function errnoOf(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'connection error';
}

export function answer(
  res: ServerResponse,
  r: { status: number; headers: IncomingHttpHeaders; body: Buffer },
) {
  const headers = responseHeaders(r.headers);
  headers['content-length'] = String(r.body.length);
  if (!res.headersSent) res.writeHead(r.status, headers);
  res.end(r.body);
}

/** An error of the gateway's own, in a shape both API families' clients read. */
export function gatewayError(res: ServerResponse, status: number, type: string, message: string): void {
  const text = JSON.stringify({ type: 'error', error: { type, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function readAll(
  stream: AsyncIterable<unknown>,
  limit = Number.POSITIVE_INFINITY,
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    if (size < limit) chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return Buffer.concat(chunks).subarray(0, Math.min(size, limit));
}

export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
