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
import type { EventSink } from '../events.js';
import type { ModelApiFault } from '../failures.js';
import { backoffMs, classifyStatus, errorTypeOf, isTransientNetworkError, retryAfterMs } from './faults.js';
import { KeyPool } from './keys.js';
import { AttemptLease, type Lease, type LeaseRequest } from './lease.js';
import { costOf, type Price, priceOf } from './prices.js';
import { protocolOf, UsageMeter, type WireProtocol } from './usage.js';
import {
  answer,
  capabilityOf,
  decoded,
  ERROR_BODY_LIMIT,
  errnoOf,
  gatewayError,
  header,
  modelOf,
  readAll,
  responseHeaders,
  sleep,
  upstreamHeaders,
  upstreamUrl,
} from './wire.js';

export type { GatewayUsage, Lease, LeaseRequest, Route } from './lease.js';

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
