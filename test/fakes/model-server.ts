/**
 * A fake model API on 127.0.0.1 that the real agent CLIs talk to, so tests run them end to end
 * without the internet. One HTTP server speaks three wire protocols, all streamed over SSE:
 *
 * - Anthropic Messages, `POST /v1/messages` (Claude Code: `ANTHROPIC_BASE_URL=<url>`);
 * - OpenAI Responses, `POST /v1/responses` (codex: a `model_providers` entry with
 *   `base_url = "<url>/v1"`, `wire_api = "responses"`);
 * - OpenAI Chat Completions, `POST /v1/chat/completions` (opencode: a provider with
 *   `"npm": "@ai-sdk/openai-compatible"`, `options.baseURL = "<url>/v1"`).
 *
 * Each plays the script in `script.ts`: first a tool call that makes the CLI write `hello.txt`
 * ("hello from <cli>") in its working directory, then, once the tool result is back, a final text
 * that echoes the API key the request carried. Every request is recorded, headers, parsed body
 * and the usage its answer reported, for tests to assert on.
 *
 * For tests of what stands between a CLI and its API, model calls (and only they) can be made to
 * misbehave, from the start or switched while the server runs:
 *
 * - `hang: true`: every model call opens its stream and never ends it (timeout tests);
 * - `setFault(fault)`: an HTTP error in the API's own shape, or a stream cut mid-reply, for the
 *   next `times` calls or until switched off (see `faults.ts`);
 * - `refuseKeys`: calls with one of these keys get a 401, others are served;
 * - `delayMs`: every call is held that long before anything of its answer is sent;
 * - `dumpEnv: true`: the script writes through the CLI's shell tool and dumps its environment to
 *   `env.b64` (see `script.ts`);
 * - `cacheTokens`, `reportCost`: usage with cache tokens, and a cost (see `usage.ts`).
 *
 *     const server = await startModelServer();
 *     // ... run a CLI against server.url ...
 *     expect(server.requests.map((r) => r.apiKey)).toContain(TOKEN);
 *     server.setFault({ status: 529, times: 2 });
 *     // ... the next two model calls are overloaded ...
 *     await server.close();
 *
 * Standalone, for manual checks (prints the url, then one line per request):
 *
 *     node --import jiti/register test/fakes/model-server.ts [--port 8080] [--hang]
 *       [--fault 529|cut] [--refuse KEY]... [--delay-ms N] [--dump-env]
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync, inflateSync } from 'node:zlib';
import { anthropicMessages, countTokens } from './anthropic-messages.js';
import { type Fault, faultSwitch } from './faults.js';
import { answerModelCall, type ModelCallAnswer, type ModelCallState } from './model-call.js';
import { openaiChat } from './openai-chat.js';
import { openaiResponses } from './openai-responses.js';
import { apiKeyOf, isRecord, type Protocol, type ProtocolName, sendJson } from './protocol.js';
import { plannedUsage, type Usage, type UsageOptions } from './usage.js';

export type { CutFault, Fault, StatusFault } from './faults.js';
export { errorBody } from './faults.js';
export type { ProtocolName } from './protocol.js';
export type { CliName } from './script.js';
export { ENV_FILE, HELLO_FILE, helloContent, readEnvDump, USAGE } from './script.js';
export { CACHE_USAGE, type Usage } from './usage.js';

/** How the server answered a request. */
export type Answer = ModelCallAnswer | 'count_tokens' | 'models' | 'probe' | 'not_found' | 'bad_request';

/** One request as it arrived, kept in the order they were answered. */
export interface RecordedRequest {
  /** `Date.now()` when the body had been read (before any `delayMs`). */
  at: number;
  method: string;
  /** Path with query, e.g. `/v1/messages?beta=true`. */
  path: string;
  /** All headers, as Node parsed them (lower-case names). */
  headers: IncomingHttpHeaders;
  /** The JSON body parsed, the raw text when it is not JSON, `undefined` when empty. */
  body: unknown;
  /** Set for the three model endpoints. */
  protocol?: ProtocolName;
  /** The key from `x-api-key` or `Authorization: Bearer`, if any. */
  apiKey?: string;
  answer: Answer;
  /** The fault the request was answered with (`answer` is then `fault-<status>` or `cut`). */
  fault?: Fault;
  /**
   * The usage the answer reported, in the protocol's own meaning (see `Usage`); absent when it
   * reported none: faults, cuts, hangs, and Chat Completions streams without `include_usage`.
   */
  usage?: Usage;
}

export interface ModelServerOptions extends UsageOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** The address to listen on: 127.0.0.1 by default; the Docker bridge's, for containers. */
  host?: string;
  /** Model calls open their stream and never finish it (for timeout tests). */
  hang?: boolean;
  /** The fault model calls get from the start; see `ModelServer.setFault`. */
  fault?: Fault;
  /** Keys whose model calls get a 401 `authentication_error` (OpenAI: `invalid_api_key`). */
  refuseKeys?: Iterable<string>;
  /** Milliseconds every model call is held before any of its answer is sent. */
  delayMs?: number;
  /** The first turn writes through the shell tool and dumps the environment to `env.b64`. */
  dumpEnv?: boolean;
  /** Called with one line per request; silent when absent. */
  log?: (line: string) => void;
}

export interface ModelServer {
  /** `http://127.0.0.1:<port>`, without `/v1`. */
  url: string;
  port: number;
  /** Every request so far; the array grows in place. */
  requests: RecordedRequest[];
  /** The recorded model calls of one protocol, i.e. the CLI's model turns and side tasks. */
  calls(protocol: ProtocolName): RecordedRequest[];
  /**
   * From the next model call on, answer with `fault` (its `times` counted from now), or serve
   * normally again with `undefined`. A refused key still gets its 401, without counting.
   */
  setFault(fault: Fault | undefined): void;
  /** Replaces the set of refused keys. */
  setRefuseKeys(keys: Iterable<string>): void;
  /** Holds model calls that arrive from now on for `ms` (0: not at all); calls held already keep theirs. */
  setDelayMs(ms: number): void;
  /** Stops listening and drops open connections, hung streams and held calls included. */
  close(): Promise<void>;
}

const ROUTES: Record<string, Protocol> = {
  '/messages': anthropicMessages,
  '/responses': openaiResponses,
  '/chat/completions': openaiChat,
};

/** Models listed on `GET /v1/models`, in a shape both Anthropic and OpenAI clients accept. */
const MODELS = ['claude-sonnet-4-5', 'gpt-5.5', 'fake-model'];

export async function startModelServer(options: ModelServerOptions = {}): Promise<ModelServer> {
  const requests: RecordedRequest[] = [];
  const log = options.log ?? (() => {});
  const state: ModelCallState = {
    hang: options.hang === true,
    faults: faultSwitch(options.fault),
    refused: new Set(options.refuseKeys),
    delayMs: options.delayMs ?? 0,
    dumpEnv: options.dumpEnv === true,
    usage: plannedUsage(options),
  };
  // Held calls' timers, so close() need not wait for them.
  const held = new Set<NodeJS.Timeout>();
  const hold = (ms: number) =>
    new Promise<void>((done) => {
      const timer = setTimeout(() => {
        held.delete(timer);
        done();
      }, ms);
      held.add(timer);
    });

  const server = createServer((req, res) => {
    readBody(req)
      .then((raw) => handle(req, res, raw, state, hold))
      .then((record) => {
        requests.push(record);
        const key = record.apiKey ? ` (key ${record.apiKey})` : '';
        log(`${record.method} ${record.path} -> ${record.answer}${key}`);
      })
      .catch((err: unknown) => {
        // A fake that throws must fail the CLI's request, not the test process.
        log(`${req.method} ${req.url} -> error: ${String(err)}`);
        if (res.headersSent) res.destroy();
        else sendJson(res, 500, anthropicError('api_error', `fake model server: ${String(err)}`));
      });
  });

  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => done());
  });
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://${options.host ?? '127.0.0.1'}:${port}`,
    port,
    requests,
    calls: (protocol) => requests.filter((r) => r.protocol === protocol),
    setFault: (fault) => state.faults.set(fault),
    setRefuseKeys: (keys) => {
      state.refused = new Set(keys);
    },
    setDelayMs: (ms) => {
      state.delayMs = ms;
    },
    close: () =>
      new Promise<void>((done) => {
        for (const timer of held) clearTimeout(timer);
        held.clear();
        server.close(() => done());
        // Hung streams and keep-alive sockets would otherwise hold close() open forever.
        server.closeAllConnections();
      }),
  };
}

/** Answers one request and returns its record; never rejects (a bad body is a 400). */
async function handle(
  req: IncomingMessage,
  res: ServerResponse,
  raw: Buffer,
  state: ModelCallState,
  hold: (ms: number) => Promise<void>,
): Promise<RecordedRequest> {
  const method = req.method ?? 'GET';
  const path = req.url ?? '/';
  const at = Date.now();
  const record = (answer: Answer, extra: Partial<RecordedRequest> = {}): RecordedRequest => ({
    at,
    method,
    path,
    headers: req.headers,
    body: parseBody(raw),
    apiKey: apiKeyOf(req.headers),
    answer,
    ...extra,
  });
  // Clients differ on whether the base URL holds `/v1`; accept both, and ignore the query
  // (Claude Code sends `/v1/messages?beta=true`).
  const route = (new URL(path, 'http://x').pathname.replace(/^\/v1(?=\/)/, '') || '/').replace(/\/+$/, '');

  if (method === 'POST' && route === '/messages/count_tokens') {
    countTokens(res);
    return record('count_tokens');
  }
  const protocol = method === 'POST' ? ROUTES[route] : undefined;
  if (protocol) {
    const body = parseBody(raw);
    if (!isRecord(body)) {
      sendJson(res, 400, anthropicError('invalid_request_error', 'body is not a JSON object'));
      return record('bad_request', { protocol: protocol.name });
    }
    if (state.delayMs > 0) await hold(state.delayMs);
    const call = { protocol, body, bodyText: raw.toString('utf8'), apiKey: apiKeyOf(req.headers) };
    const { answer, ...outcome } = answerModelCall(res, call, state);
    return record(answer, { protocol: protocol.name, ...outcome });
  }
  if ((method === 'GET' || method === 'HEAD') && route === '/models') {
    const data = MODELS.map((id) => ({
      id,
      object: 'model',
      type: 'model',
      display_name: id,
      created: 0,
      created_at: '2025-01-01T00:00:00Z',
      owned_by: 'fake',
    }));
    sendJson(res, 200, {
      object: 'list',
      data,
      has_more: false,
      first_id: MODELS[0],
      last_id: MODELS.at(-1),
    });
    return record('models');
  }
  if (method === 'GET' || method === 'HEAD') {
    // Connectivity probes (`HEAD /`, `GET /`): say the server is up.
    sendJson(res, 200, {});
    return record('probe');
  }
  sendJson(res, 404, anthropicError('not_found_error', `fake model server: no route for ${method} ${path}`));
  return record('not_found');
}

/**
 * The error body of the server's own failures (no route, bad body): Anthropic's shape,
 * `{type: 'error', error: {type, message}}`, which clients of both API families can read.
 */
function anthropicError(type: string, message: string) {
  return { type: 'error', error: { type, message } };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  // No CLI compresses requests to a custom base URL today; decode the simple cases anyway.
  switch (req.headers['content-encoding']) {
    case 'gzip':
      return gunzipSync(raw);
    case 'deflate':
      return inflateSync(raw);
    default:
      return raw;
  }
}

function parseBody(raw: Buffer): unknown {
  if (raw.length === 0) return undefined;
  const text = raw.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * Standalone use: `--port N`, `--hang`, `--fault <status>|cut` (permanent), `--refuse KEY`
 * (repeatable), `--delay-ms N`, `--dump-env`; runs until SIGINT or SIGTERM.
 */
async function main(argv: string[]): Promise<void> {
  const value = (flag: string) => {
    const at = argv.indexOf(flag);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const fault = value('--fault');
  const server = await startModelServer({
    port: Number(value('--port') ?? 0),
    hang: argv.includes('--hang'),
    fault: fault === undefined ? undefined : fault === 'cut' ? { cut: true } : { status: Number(fault) },
    refuseKeys: argv.flatMap((arg, i) => (arg === '--refuse' && argv[i + 1] ? [argv[i + 1]!] : [])),
    delayMs: Number(value('--delay-ms') ?? 0),
    dumpEnv: argv.includes('--dump-env'),
    log: (line) => console.log(line),
  });
  console.log(JSON.stringify({ url: server.url, port: server.port }));
  const stop = () => void server.close().then(() => process.exit(0));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  await main(process.argv.slice(2));
}
