import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import {
  createServer,
  Agent as HttpAgent,
  request as httpRequest,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib';
import { basePathOf } from '../../tasks/harnesses/adapter.js';
import type { EventSink } from '../events.js';
import type { ModelApiFault } from '../failures.js';
import { backoffMs, classifyStatus, errorTypeOf, isTransientNetworkError, retryAfterMs } from './faults.js';
import { KeyPool, type KeySlot } from './keys.js';
import { costOf, type Price, priceOf } from './prices.js';
import { protocolOf, UsageMeter, type WireProtocol } from './usage.js';

/**
 * The model gateway of one invocation: an HTTP server on 127.0.0.1 (and, for containers, on a
 * unix socket) that every attempt's CLI talks to instead of the vendor. Each attempt holds a
 * capability of its own in place of the real key; the gateway swaps it for the real key and
 * forwards the request upstream, streaming the answer back as it comes. Because every byte of
 * model traffic passes here, faults are seen where they happen: a refused key stops every
 * attempt on it, transient faults are retried upstream (the CLI sees a slow answer), and what
 * cannot be healed stops the attempt as an infrastructure error. Usage is measured here too, the
 * same way for every CLI.
 */

/** The API family a harness speaks, and so how its base URL is shaped. */
export type ApiFamily = 'anthropic' | 'openai';

/** Where an attempt's requests go: the configured base URL, or the vendor's API root. */
export interface Route {
  family: ApiFamily;
  /** `https://api.anthropic.com` (an origin, like ANTHROPIC_BASE_URL) or `https://api.openai.com/v1`. */
  upstream: string;
}

/** What the gateway measured of one attempt's model traffic. */
export interface GatewayUsage {
  upstream: string;
  keyEnv: string;
  /** Model calls (messages, responses, chat completions), retries included. */
  requests: number;
  /** Of those, upstream tries the gateway repeated after a transient fault. */
  retries: number;
  /** Transient faults seen (healed or not) and unhealed ones. */
  faults: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Wall time of model calls, from request to the end of the answer, summed. */
  modelWaitMs: number;
  /** null when some model call had no price (see unpriced). */
  costUsd: number | null;
  /** Where the cost came from: price table entries (with their dates) or the upstream's own figure. */
  costSources: string[];
  /** Models answered without a known price: add them to `prices` in bench.config.ts. */
  unpriced: string[];
  models: string[];
}

export interface GatewayOptions {
  /** How long transient faults of one request are retried before the attempt is stopped. */
  retryWindowMs: number;
  /** USD; model calls past it are refused (`--max-cost`). */
  budgetUsd: number | undefined;
  prices: Record<string, Omit<Price, 'source'> & { source?: string }>;
  /** Listen on a unix socket too, in a directory of its own (docker mode mounts it). */
  socket: boolean;
  emit: EventSink;
}

export interface LeaseRequest {
  harness: string;
  /** The host variables holding this harness's keys, in order of preference. */
  keyEnvs: readonly string[];
  /** At most this many attempts at once on one key. */
  keyConcurrency: number;
  route: Route;
}

/** An attempt's hold on the gateway: its capability, its key, what it measured, and its fault. */
export interface Lease {
  /** Goes where the CLI expects its API key. */
  readonly capability: string;
  readonly keyEnv: string;
  readonly route: Route;
  /** Aborted when the attempt must stop: its key was refused, a fault was not healed, the budget is spent. */
  readonly stopped: AbortSignal;
  /** The fault that makes the attempt an infrastructure error, if any. */
  readonly fault: ModelApiFault | undefined;
  usage(): GatewayUsage;
  /** Ends the capability (its requests get 401 from then on) and frees the key. */
  release(): void;
}

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
const ERROR_BODY_LIMIT = 64 * 1024;

const CAPABILITY_PREFIX = 'bpgw-';

class AttemptLease implements Lease {
  readonly capability = `${CAPABILITY_PREFIX}${randomBytes(24).toString('base64url')}`;
  readonly #stop = new AbortController();
  fault: ModelApiFault | undefined;
  revoked = false;
  readonly measured: GatewayUsage;
  readonly #priced = new Set<string>();

  constructor(
    readonly request: LeaseRequest,
    readonly slot: KeySlot,
    readonly route: Route,
    private readonly onRelease: (lease: AttemptLease) => void,
  ) {
    this.measured = {
      upstream: route.upstream,
      keyEnv: slot.name,
      requests: 0,
      retries: 0,
      faults: 0,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      modelWaitMs: 0,
      costUsd: 0,
      costSources: [],
      unpriced: [],
      models: [],
    };
  }

  get keyEnv() {
    return this.slot.name;
  }
  get stopped() {
    return this.#stop.signal;
  }

  /** The first fault decides; the attempt is stopped at once. */
  fail(kind: ModelApiFault['kind'], status: number | null, errorType: string | undefined): void {
    if (this.fault || this.revoked) return;
    this.fault = {
      kind,
      harness: this.request.harness,
      keyEnv: this.slot.name,
      status,
      errorType: errorType ?? null,
      upstream: this.route.upstream,
      requests: this.measured.requests,
    };
    this.#stop.abort();
  }

  usage(): GatewayUsage {
    return { ...this.measured, costSources: [...this.#priced] };
  }

  addCost(usd: number | undefined, source: string | undefined, model: string | undefined): void {
    if (model && !this.measured.models.includes(model)) this.measured.models.push(model);
    if (usd === undefined) {
      if (model && !this.measured.unpriced.includes(model)) this.measured.unpriced.push(model);
      this.measured.costUsd = null;
      return;
    }
    if (source) this.#priced.add(source);
    if (this.measured.costUsd !== null) this.measured.costUsd += usd;
  }

  release(): void {
    if (this.revoked) return;
    this.revoked = true;
    this.onRelease(this);
  }
}

export class Gateway {
  readonly #leases = new Map<string, AttemptLease>();
  readonly #pool = new KeyPool();
  readonly #servers: Server[] = [];
  readonly #http = new HttpAgent({ keepAlive: true });
  readonly #https = new HttpsAgent({ keepAlive: true });
  #spentUsd = 0;
  readonly #unpricedTold = new Set<string>();
  #url = '';
  #socketDir: string | undefined;

  private constructor(private readonly options: GatewayOptions) {}

  static async start(options: GatewayOptions): Promise<Gateway> {
    const gateway = new Gateway(options);
    await gateway.#listen({ port: 0, host: '127.0.0.1' });
    if (options.socket) {
      gateway.#socketDir = await mkdtemp(join(tmpdir(), 'bench-pipeline-gateway-'));
      const path = join(gateway.#socketDir, 'gateway.sock');
      await gateway.#listen({ path });
      // Containers may run as any user; the capability is what authorizes, not the socket's mode.
      await chmod(path, 0o666);
      await chmod(gateway.#socketDir, 0o755);
    }
    return gateway;
  }

  /** `http://127.0.0.1:<port>`: lite-mode CLIs get this plus their family's base path. */
  get url(): string {
    return this.#url;
  }

  /** The directory holding `gateway.sock`, for docker mode; undefined without a socket. */
  get socketDir(): string | undefined {
    return this.#socketDir;
  }

  /** Spent so far, in USD, by every attempt of the run (priced calls only). */
  get spentUsd(): number {
    return this.#spentUsd;
  }

  budgetSpent(): boolean {
    return this.options.budgetUsd !== undefined && this.#spentUsd >= this.options.budgetUsd;
  }

  /** Whether a harness with these keys can still start attempts (not all of them refused). */
  usable(keyEnvs: readonly string[]): boolean {
    return this.#pool.usable(keyEnvs);
  }

  /**
   * A capability for one attempt, on the least busy usable key; waits while every key is busy or
   * cooling down. Resolves to the refusal when every key of the harness was refused.
   */
  async lease(request: LeaseRequest, signal: AbortSignal): Promise<Lease | { refused: ModelApiFault }> {
    const got = await this.#pool.acquire(request.keyEnvs, request.keyConcurrency, signal);
    if ('refused' in got) return got;
    const { slot } = got;
    const lease = new AttemptLease(request, slot, request.route, (l) => {
      this.#leases.delete(l.capability);
      this.#pool.release(l.slot);
    });
    this.#leases.set(lease.capability, lease);
    return lease;
  }

  async close(): Promise<void> {
    for (const lease of this.#leases.values()) lease.release();
    await Promise.all(
      this.#servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.close(() => resolve());
            s.closeAllConnections();
          }),
      ),
    );
    this.#http.destroy();
    this.#https.destroy();
    if (this.#socketDir) await rm(this.#socketDir, { recursive: true, force: true });
  }

  async #listen(at: { port: number; host: string } | { path: string }): Promise<void> {
    const server = createServer((req, res) => {
      this.#handle(req, res).catch((error: unknown) => {
        if (!res.headersSent) gatewayError(res, 502, 'api_error', `bench-pipeline gateway: ${String(error)}`);
        else res.destroy();
      });
    });
    // A CLI's keep-alive connection must not keep the invocation alive once it is done.
    server.keepAliveTimeout = 5_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(at, () => resolve());
    });
    server.unref();
    this.#servers.push(server);
    if ('port' in at) this.#url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const lease = this.#leases.get(capabilityOf(req.headers) ?? '');
    if (!lease || lease.revoked) {
      req.resume();
      gatewayError(res, 401, 'authentication_error', 'bench-pipeline gateway: unknown or expired capability');
      return;
    }
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const protocol = protocolOf(method, path);
    // Kept whole: a transient fault is retried with the same body. Requests are single JSON documents.
    const body = await readAll(req);
    if (protocol) {
      if (this.budgetSpent()) {
        lease.fail('budget', null, 'budget_exceeded');
        gatewayError(
          res,
          429,
          'budget_exceeded',
          'bench-pipeline gateway: the run budget (--max-cost) is spent',
        );
        return;
      }
      lease.measured.requests++;
    }
    const started = performance.now();
    try {
      await this.#forward(lease, req, res, body, protocol);
    } finally {
      if (protocol) lease.measured.modelWaitMs += Math.round(performance.now() - started);
    }
  }

  /** Tries upstream until it answers, retrying transient faults within the retry window. */
  async #forward(
    lease: AttemptLease,
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    protocol: WireProtocol | undefined,
  ): Promise<void> {
    const gone = new AbortController();
    res.once('close', () => gone.abort());
    const stop = AbortSignal.any([gone.signal, lease.stopped]);
    const target = upstreamUrl(lease.route, req.url ?? '/');
    const headers = upstreamHeaders(req.headers, lease.slot.value, body.length);
    const until = Date.now() + this.options.retryWindowMs;
    for (let retry = 0; ; retry++) {
      if (stop.aborted) return void res.destroy();
      const tried = await this.#send(target, req.method ?? 'GET', headers, body, stop);
      let last: { status: number | null; errorType: string | undefined; asked: number | undefined };
      let failed: { status: number; headers: IncomingHttpHeaders; body: Buffer } | undefined;
      if ('error' in tried) {
        if (stop.aborted) return void res.destroy();
        if (!isTransientNetworkError(tried.error)) throw tried.error;
        last = { status: null, errorType: errnoOf(tried.error), asked: undefined };
      } else {
        const up = tried.response;
        const status = up.statusCode ?? 502;
        const verdict = classifyStatus(status);
        // A model the API does not know: the attempt never had a chance.
        const unknownModel = protocol !== undefined && status === 404;
        if ((verdict === 'ok' || verdict === 'pass') && !unknownModel)
          return this.#stream(lease, up, res, protocol, body, stop);
        const errorBody = await readAll(up, ERROR_BODY_LIMIT);
        const errorType = errorTypeOf(decoded(errorBody, header(up.headers, 'content-encoding')));
        failed = { status, headers: up.headers, body: errorBody };
        if (unknownModel) {
          lease.fail('unhealed', status, errorType);
          return void answer(res, failed);
        }
        if (verdict === 'refused') {
          this.#refuse(lease, status, errorType);
          return void answer(res, failed);
        }
        const asked = retryAfterMs(up.headers);
        if (status === 429) this.#pool.coolDown(lease.slot, asked ?? backoffMs(retry, undefined));
        last = { status, errorType, asked };
      }
      lease.measured.faults++;
      const wait = backoffMs(retry, last.asked);
      if (Date.now() + wait > until) {
        // Not healed: the CLI gets the last answer, and the attempt stops as an error.
        if (protocol) lease.fail('outage', last.status, last.errorType);
        if (failed) answer(res, failed);
        else gatewayError(res, 502, 'api_connection_error', `bench-pipeline gateway: ${last.errorType}`);
        return;
      }
      await sleep(wait, stop);
      if (protocol) {
        lease.measured.requests++;
        lease.measured.retries++;
      }
    }
  }

  /** One upstream try; resolves to its response, or to the error that came before any. */
  #send(
    target: URL,
    method: string,
    headers: OutgoingHttpHeaders,
    body: Buffer,
    signal: AbortSignal,
  ): Promise<{ response: IncomingMessage } | { error: unknown }> {
    const https = target.protocol === 'https:';
    return new Promise((resolve) => {
      const up = (https ? httpsRequest : httpRequest)(target, {
        method,
        headers: { ...headers, host: target.host },
        agent: https ? this.#https : this.#http,
        signal,
      });
      up.once('response', (response) => resolve({ response }));
      up.once('error', (error) => resolve({ error }));
      up.end(body);
    });
  }

  /** Passes a response on as it streams, measuring usage on the side; a cut stream is a fault. */
  async #stream(
    lease: AttemptLease,
    up: IncomingMessage,
    res: ServerResponse,
    protocol: WireProtocol | undefined,
    body: Buffer,
    stop: AbortSignal,
  ): Promise<void> {
    res.writeHead(up.statusCode ?? 502, responseHeaders(up.headers));
    res.flushHeaders();
    const meter =
      protocol && up.statusCode === 200
        ? new UsageMeter(protocol, {
            contentType: header(up.headers, 'content-type'),
            contentEncoding: header(up.headers, 'content-encoding'),
          })
        : undefined;
    if (meter) up.on('data', (chunk: Buffer) => meter.write(chunk));
    up.pipe(res);
    const how = await new Promise<'end' | 'cut' | 'gone'>((resolve) => {
      up.once('end', () => resolve('end'));
      up.once('error', () => resolve('cut'));
      up.once('aborted', () => resolve('cut'));
      res.once('close', () => resolve(res.writableFinished ? 'end' : 'gone'));
    });
    if (how !== 'end') {
      up.destroy();
      res.destroy();
      // The CLI went away (cancelled, killed at the timeout) is not the API's fault.
      if (how === 'cut' && protocol && !stop.aborted)
        lease.fail('stream-cut', up.statusCode ?? null, undefined);
      return;
    }
    if (meter) {
      const usage = await meter.end();
      if (usage) this.#count(lease, usage, modelOf(body));
    }
  }

  #count(
    lease: AttemptLease,
    usage: NonNullable<Awaited<ReturnType<UsageMeter['end']>>>,
    asked: string | undefined,
  ) {
    const m = lease.measured;
    m.inputTokens += usage.inputTokens;
    m.outputTokens += usage.outputTokens;
    m.cacheReadTokens += usage.cacheReadTokens;
    m.cacheWriteTokens += usage.cacheWriteTokens;
    const model = usage.model ?? asked;
    const cost = costOf(usage, model ? priceOf(model, this.options.prices) : undefined);
    lease.addCost(cost?.usd, cost?.source, model);
    if (cost) this.#spentUsd += cost.usd;
    else if (this.options.budgetUsd !== undefined && !this.#unpricedTold.has(model ?? '')) {
      this.#unpricedTold.add(model ?? '');
      this.options.emit({
        type: 'warning',
        message: `--max-cost: no price for model ${model ?? '(unnamed)'} (add it to \`prices\` in the config): its calls do not count against the budget`,
      });
    }
  }

  /** A refused key: every attempt on it stops now, and it takes no new one. */
  #refuse(lease: AttemptLease, status: number, errorType: string | undefined): void {
    lease.fail('refused', status, errorType);
    const fault = lease.fault ?? {
      kind: 'refused' as const,
      harness: lease.request.harness,
      keyEnv: lease.slot.name,
      status,
      errorType: errorType ?? null,
      upstream: lease.route.upstream,
      requests: lease.measured.requests,
    };
    if (!this.#pool.refuse(lease.slot, fault)) return;
    for (const other of this.#leases.values())
      if (other.slot === lease.slot) other.fail('refused', status, errorType);
    const others = lease.request.keyEnvs.filter((n) => n !== lease.slot.name && this.#pool.usable([n]));
    if (others.length)
      this.options.emit({
        type: 'warning',
        message: `the model API refused ${lease.slot.name} (${status} ${errorType ?? 'error'} from ${lease.route.upstream}): it takes no more attempts; going on with ${others.join(', ')}`,
      });
  }
}

/** The capability a request carries, where a client puts an API key. */
function capabilityOf(headers: IncomingHttpHeaders): string | undefined {
  const direct = headers['x-api-key'];
  if (typeof direct === 'string' && direct.startsWith(CAPABILITY_PREFIX)) return direct;
  const bearer = /^Bearer\s+(\S+)$/i.exec(headers.authorization ?? '')?.[1];
  return bearer?.startsWith(CAPABILITY_PREFIX) ? bearer : undefined;
}

/** The request's headers as they go upstream: only the capability is replaced, by the real key. */
function upstreamHeaders(
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

function responseHeaders(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
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

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** The model a request body asks for, when it is JSON with a `model`. */
function modelOf(body: Buffer): string | undefined {
  try {
    const model = (JSON.parse(body.toString('utf8')) as { model?: unknown }).model;
    return typeof model === 'string' ? model : undefined;
  } catch {
    return undefined;
  }
}

/** An error body as the API wrote it, before content-encoding; as it is when it cannot be decoded. */
function decoded(body: Buffer, encoding: string | undefined): Buffer {
  try {
    if (encoding === 'gzip') return gunzipSync(body);
    if (encoding === 'br') return brotliDecompressSync(body);
    if (encoding === 'deflate') return inflateSync(body);
  } catch {
    // Cut at ERROR_BODY_LIMIT, or not what it says: only its type is lost.
  }
  return body;
}

function errnoOf(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : 'connection error';
}

function answer(res: ServerResponse, r: { status: number; headers: IncomingHttpHeaders; body: Buffer }) {
  const headers = responseHeaders(r.headers);
  headers['content-length'] = String(r.body.length);
  if (!res.headersSent) res.writeHead(r.status, headers);
  res.end(r.body);
}

/** An error of the gateway's own, in a shape both API families' clients read. */
function gatewayError(res: ServerResponse, status: number, type: string, message: string): void {
  const text = JSON.stringify({ type: 'error', error: { type, message } });
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

async function readAll(stream: AsyncIterable<unknown>, limit = Number.POSITIVE_INFINITY): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    if (size < limit) chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return Buffer.concat(chunks).subarray(0, Math.min(size, limit));
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
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
