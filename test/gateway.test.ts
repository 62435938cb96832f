/**
 * The model gateway on its own, against a scripted upstream on 127.0.0.1: what it forwards, what
 * it retries, how it classifies what it cannot heal, and what it measures. The real CLIs through
 * it are in gateway-clis.test.ts.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { PipelineEvent } from '../pipeline/events.js';
import { Gateway, type Lease } from '../pipeline/gateway/server.js';

const KEY = 'sk-upstream-real-key-0123456789';
const KEY_2 = 'sk-upstream-second-key-987654321';

type Step = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** An upstream that answers each request with the next scripted step (the last one repeats). */
class Upstream {
  server!: Server;
  url = '';
  steps: Step[] = [];
  seen: { path: string; headers: IncomingMessage['headers']; body: string; at: number }[] = [];

  async start() {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        this.seen.push({ path: req.url ?? '', headers: req.headers, body, at: Date.now() });
        const step = this.steps.length > 1 ? this.steps.shift()! : this.steps[0]!;
        step(req, res, body);
      });
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close() {
    this.server.closeAllConnections();
    return new Promise<void>((r) => this.server.close(() => r()));
  }
}

const json =
  (status: number, body: unknown, headers: Record<string, string> = {}): Step =>
  (_req, res) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(text);
  };

const anthropicError = (status: number, type: string, headers: Record<string, string> = {}) =>
  json(status, { type: 'error', error: { type, message: `upstream says ${type}` } }, headers);

/** A streamed Messages answer: message_start (input usage), deltas, message_delta (output usage). */
const sse =
  (gapMs = 0): Step =>
  (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const events = [
      [
        'message_start',
        {
          type: 'message_start',
          message: {
            model: 'claude-sonnet-4-5',
            usage: {
              input_tokens: 1000,
              output_tokens: 1,
              cache_read_input_tokens: 200,
              cache_creation_input_tokens: 100,
            },
          },
        },
      ],
      [
        'content_block_delta',
        { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
      ],
      [
        'message_delta',
        { type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 50 } },
      ],
      ['message_stop', { type: 'message_stop' }],
    ] as const;
    let i = 0;
    const next = () => {
      const e = events[i++];
      if (!e) return void res.end();
      res.write(`event: ${e[0]}\ndata: ${JSON.stringify(e[1])}\n\n`);
      setTimeout(next, gapMs);
    };
    next();
  };

const ok = sse();

const route = (upstream: string) => ({ family: 'anthropic' as const, upstream });

describe('the model gateway', () => {
  const upstream = new Upstream();
  let gateway: Gateway;
  const events: PipelineEvent[] = [];

  beforeAll(async () => {
    process.env.BP_TEST_KEY = KEY;
    process.env.BP_TEST_KEY_2 = KEY_2;
    await upstream.start();
  });
  afterAll(async () => {
    await upstream.close();
  });
  afterEach(async () => {
    await gateway?.close();
    upstream.seen = [];
    events.length = 0;
  });

  const start = (retryWindowMs = 10_000, budgetUsd?: number) =>
    Gateway.start({
      retryWindowMs,
      budgetUsd,
      prices: { 'claude-sonnet-4-5': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 } },
      socket: false,
      emit: (e) => events.push(e),
    }).then((g) => {
      gateway = g;
      return g;
    });

  const lease = async (g: Gateway, keyEnvs = ['BP_TEST_KEY'], upstreamUrl = upstream.url) => {
    const got = await g.lease(
      {
        harness: 'claude-code',
        keyEnvs,
        keyConcurrency: Number.POSITIVE_INFINITY,
        route: route(upstreamUrl),
      },
      new AbortController().signal,
    );
    if ('refused' in got) throw new Error('refused');
    return got;
  };

  const call = (g: Gateway, l: Lease | string, path = '/v1/messages') =>
    fetch(`${g.url}${path}`, {
      method: 'POST',
      headers: { 'x-api-key': typeof l === 'string' ? l : l.capability, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'claude-sonnet-4-5', stream: true, messages: [] }),
    });

  it('swaps the capability for the real key and changes nothing else', async () => {
    upstream.steps = [ok];
    const g = await start();
    const l = await lease(g);
    const res = await fetch(`${g.url}/v1/messages?beta=true`, {
      method: 'POST',
      headers: { 'x-api-key': l.capability, 'anthropic-version': '2023-06-01', 'x-custom': 'kept' },
      body: '{"model":"claude-sonnet-4-5"}',
    });
    expect(res.status).toBe(200);
    await res.text();
    const seen = upstream.seen[0]!;
    expect(seen.path).toBe('/v1/messages?beta=true');
    expect(seen.headers['x-api-key']).toBe(KEY);
    expect(seen.headers['anthropic-version']).toBe('2023-06-01');
    expect(seen.headers['x-custom']).toBe('kept');
    expect(seen.body).toBe('{"model":"claude-sonnet-4-5"}');
    expect(JSON.stringify(seen.headers)).not.toContain(l.capability);
  });

  it('OpenAI family: Bearer swapped, the /v1 of the gateway URL dropped before the upstream root', async () => {
    upstream.steps = [json(200, { model: 'gpt-5', usage: { input_tokens: 10, output_tokens: 2 } })];
    const g = await start();
    const got = await g.lease(
      {
        harness: 'codex',
        keyEnvs: ['BP_TEST_KEY'],
        keyConcurrency: 1,
        route: { family: 'openai', upstream: `${upstream.url}/api/v1` },
      },
      new AbortController().signal,
    );
    if ('refused' in got) throw new Error('refused');
    const res = await fetch(`${g.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${got.capability}` },
      body: '{"model":"gpt-5"}',
    });
    expect(res.status).toBe(200);
    await res.text();
    expect(upstream.seen[0]).toMatchObject({ path: '/api/v1/responses' });
    expect(upstream.seen[0]!.headers.authorization).toBe(`Bearer ${KEY}`);
  });

  it('an unknown or expired capability gets 401 from the gateway itself, never reaching upstream', async () => {
    upstream.steps = [ok];
    const g = await start();
    expect((await call(g, 'bpgw-made-up')).status).toBe(401);
    const l = await lease(g);
    l.release();
    const res = await call(g, l);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { type: 'authentication_error' } });
    expect(upstream.seen).toEqual([]);
  });

  it('streams: the first event reaches the client while the upstream is still sending', async () => {
    upstream.steps = [sse(300)];
    const g = await start();
    const l = await lease(g);
    const res = await call(g, l);
    const reader = res.body!.getReader();
    const first = await reader.read();
    const firstAt = Date.now();
    expect(new TextDecoder().decode(first.value)).toContain('message_start');
    let rest = '';
    for (let r = await reader.read(); !r.done; r = await reader.read())
      rest += new TextDecoder().decode(r.value);
    // Three more events, 300 ms apart, came after the first one was already here.
    expect(Date.now() - firstAt).toBeGreaterThanOrEqual(800);
    expect(rest).toContain('message_stop');
  });

  it('measures usage and prices it', async () => {
    upstream.steps = [ok];
    const g = await start();
    const l = await lease(g);
    for (let i = 0; i < 2; i++) await (await call(g, l)).text();
    const u = l.usage();
    expect(u).toMatchObject({
      requests: 2,
      retries: 0,
      faults: 0,
      inputTokens: 2000,
      outputTokens: 100,
      cacheReadTokens: 400,
      cacheWriteTokens: 200,
      unpriced: [],
      models: ['claude-sonnet-4-5'],
    });
    // 2000 x 3 + 100 x 15 + 400 x 0.3 + 200 x 3.75 per million.
    expect(u.costUsd).toBeCloseTo((2000 * 3 + 100 * 15 + 400 * 0.3 + 200 * 3.75) / 1e6, 10);
    expect(g.spentUsd).toBeCloseTo(u.costUsd!, 10);
  });

  it('heals transient faults: 529, 500, 429 with retry-after, then an answer; the client sees only the answer', async () => {
    upstream.steps = [
      anthropicError(529, 'overloaded_error'),
      anthropicError(500, 'api_error'),
      anthropicError(429, 'rate_limit_error', { 'retry-after': '1' }),
      ok,
    ];
    const g = await start();
    const l = await lease(g);
    const res = await call(g, l);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('message_stop');
    expect(upstream.seen).toHaveLength(4);
    // retry-after: 1 was honoured.
    expect(upstream.seen[3]!.at - upstream.seen[2]!.at).toBeGreaterThanOrEqual(950);
    expect(l.fault).toBeUndefined();
    expect(l.usage()).toMatchObject({ requests: 4, retries: 3, faults: 3, inputTokens: 1000 });
  });

  it('a fault that outlasts the retry window stops the attempt, with the last status', async () => {
    upstream.steps = [anthropicError(529, 'overloaded_error')];
    const g = await start(1_500);
    const l = await lease(g);
    const res = await call(g, l);
    expect(res.status).toBe(529);
    expect(l.stopped.aborted).toBe(true);
    expect(l.fault).toMatchObject({
      kind: 'outage',
      status: 529,
      errorType: 'overloaded_error',
      harness: 'claude-code',
    });
    expect(upstream.seen.length).toBeGreaterThanOrEqual(2);
    expect(l.fault!.requests).toBe(upstream.seen.length);
  });

  it('a refused connection is retried, then is an outage naming the error', async () => {
    const closed = new Upstream();
    await closed.start();
    const dead = closed.url;
    await closed.close();
    const g = await start(1_200);
    const l = await lease(g, ['BP_TEST_KEY'], dead);
    const res = await call(g, l);
    expect(res.status).toBe(502);
    expect(l.fault).toMatchObject({
      kind: 'outage',
      status: null,
      errorType: 'ECONNREFUSED',
      upstream: dead,
    });
  });

  it('a refused key stops every attempt on it at once, and takes no new attempt', async () => {
    upstream.steps = [anthropicError(401, 'authentication_error')];
    const g = await start();
    const [a, b] = [await lease(g), await lease(g)];
    const res = await call(g, a);
    expect(res.status).toBe(401);
    expect(a.fault).toMatchObject({
      kind: 'refused',
      status: 401,
      errorType: 'authentication_error',
      keyEnv: 'BP_TEST_KEY',
    });
    expect(b.stopped.aborted).toBe(true);
    expect(b.fault).toMatchObject({ kind: 'refused' });
    expect(upstream.seen).toHaveLength(1);
    const next = await g.lease(
      { harness: 'claude-code', keyEnvs: ['BP_TEST_KEY'], keyConcurrency: 9, route: route(upstream.url) },
      new AbortController().signal,
    );
    expect(next).toMatchObject({ refused: { kind: 'refused', status: 401 } });
    expect(JSON.stringify(a.fault)).not.toContain(KEY);
  });

  it('two keys: attempts are spread, a refused one drops out with a warning and the other goes on', async () => {
    upstream.steps = [
      (req, res, body) =>
        (req.headers['x-api-key'] === KEY ? anthropicError(401, 'authentication_error') : ok)(req, res, body),
    ];
    const g = await start();
    const keys = ['BP_TEST_KEY', 'BP_TEST_KEY_2'];
    const [a, b] = [await lease(g, keys), await lease(g, keys)];
    expect(new Set([a.keyEnv, b.keyEnv])).toEqual(new Set(keys));
    const bad = a.keyEnv === 'BP_TEST_KEY' ? a : b;
    const good = bad === a ? b : a;
    expect((await call(g, bad)).status).toBe(401);
    expect((await call(g, good)).status).toBe(200);
    expect(good.fault).toBeUndefined();
    expect(events.map((e) => (e.type === 'warning' ? e.message : ''))).toContainEqual(
      expect.stringContaining('refused BP_TEST_KEY (401 authentication_error'),
    );
    const c = await lease(g, keys);
    expect(c.keyEnv).toBe('BP_TEST_KEY_2');
  });

  it('a rate-limited key cools down: new attempts go to the other key meanwhile', async () => {
    upstream.steps = [anthropicError(429, 'rate_limit_error', { 'retry-after': '1' }), ok];
    const g = await start();
    const keys = ['BP_TEST_KEY', 'BP_TEST_KEY_2'];
    const a = await lease(g, keys);
    const answered = call(g, a);
    await new Promise((r) => setTimeout(r, 200));
    // While a's key waits out its retry-after, the other one takes the next attempt, even though
    // the first is the less busy after a is released.
    a.release();
    const b = await lease(g, keys);
    expect(b.keyEnv).not.toBe(a.keyEnv);
    expect((await answered).status).toBe(200);
  });

  it('a model the API does not know (404 on a model call) leaves the attempt without a chance: a fault', async () => {
    upstream.steps = [anthropicError(404, 'not_found_error')];
    const g = await start();
    const l = await lease(g);
    expect((await call(g, l)).status).toBe(404);
    expect(l.fault).toMatchObject({ kind: 'unhealed', status: 404, errorType: 'not_found_error' });
    // Elsewhere a 404 is the CLI's own business (a probe of an endpoint the API lacks).
    const m = await lease(g);
    expect((await call(g, m, '/v1/models')).status).toBe(404);
    expect(m.fault).toBeUndefined();
  });

  it('keyConcurrency: a third attempt waits until a key is free', async () => {
    const g = await start();
    const req = {
      harness: 'x',
      keyEnvs: ['BP_TEST_KEY', 'BP_TEST_KEY_2'],
      keyConcurrency: 1,
      route: route(upstream.url),
    };
    const signal = new AbortController().signal;
    const a = (await g.lease(req, signal)) as Lease;
    await g.lease(req, signal);
    let third: Lease | undefined;
    const waiting = g.lease(req, signal).then((l) => {
      third = l as Lease;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(third).toBeUndefined();
    a.release();
    await waiting;
    expect(third!.keyEnv).toBe(a.keyEnv);
  });

  it('a stream cut mid-response is a fault of the attempt', async () => {
    upstream.steps = [
      (_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(
          'event: message_start\ndata: {"type":"message_start","message":{"usage":{"input_tokens":5}}}\n\n',
        );
        setTimeout(() => res.socket?.destroy(), 50);
      },
    ];
    const g = await start();
    const l = await lease(g);
    const res = await call(g, l);
    await expect(res.text()).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 50));
    expect(l.fault).toMatchObject({ kind: 'stream-cut', status: 200 });
  });

  it('the budget: once spent, model calls are refused and the attempt stopped', async () => {
    upstream.steps = [ok];
    // One call costs 0.004185 USD at the test prices.
    const g = await start(10_000, 0.006);
    const l = await lease(g);
    const settle = () => new Promise((r) => setTimeout(r, 20));
    await (await call(g, l)).text();
    await settle();
    expect(g.budgetSpent()).toBe(false);
    await (await call(g, l)).text();
    await settle();
    expect(g.budgetSpent()).toBe(true);
    const res = await call(g, l);
    expect(res.status).toBe(429);
    expect(l.fault).toMatchObject({ kind: 'budget' });
    expect(upstream.seen).toHaveLength(2);
  });
});
