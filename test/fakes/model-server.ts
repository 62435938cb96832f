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
 * and the usage its answer reported, for tests to assert on. With `hang: true` every model call opens its stream and never ends it,
 * for timeout tests.
 *
 *     const server = await startModelServer();
 *     // ... run a CLI against server.url ...
 *     expect(server.requests.map((r) => r.apiKey)).toContain(TOKEN);
 *     await server.close();
 *
 * Standalone, for manual checks (prints the url, then one line per request):
 *
 *     node --import jiti/register test/fakes/model-server.ts [--port 8080] [--hang]
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { gunzipSync, inflateSync } from 'node:zlib';
import { anthropicMessages, countTokens } from './anthropic-messages.js';
import { openaiChat } from './openai-chat.js';
import { openaiResponses } from './openai-responses.js';
import { apiKeyOf, isRecord, openSse, type Protocol, type ProtocolName, sendJson } from './protocol.js';
import { decideReply, findCwd, type Reply } from './script.js';
import { plannedUsage, type Usage, type UsageOptions } from './usage.js';

export type { ProtocolName } from './protocol.js';
export type { CliName } from './script.js';
export { HELLO_FILE, helloContent, USAGE } from './script.js';
export { CACHE_USAGE, type Usage } from './usage.js';

/** How the server answered a request. */
export type Answer =
  | Reply['kind']
  | 'hang'
  | 'count_tokens'
  | 'models'
  | 'probe'
  | 'not_found'
  | 'bad_request';

/** One request as it arrived, kept in arrival order. */
export interface RecordedRequest {
  /** `Date.now()` when the body had been read. */
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
  /**
   * The usage the answer reported, in the protocol's own meaning (see `Usage`); absent when it
   * reported none: hangs, and Chat Completions streams without `include_usage`.
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
  /** Stops listening and drops open connections, hung streams included. */
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
  const usage = plannedUsage(options);

  const server = createServer((req, res) => {
    readBody(req)
      .then((raw) => {
        const record = handle(req, res, raw, options.hang === true, usage);
        requests.push(record);
        const key = record.apiKey ? ` (key ${record.apiKey})` : '';
        log(`${record.method} ${record.path} -> ${record.answer}${key}`);
      })
      .catch((err: unknown) => {
        // A fake that throws must fail the CLI's request, not the test process.
        log(`${req.method} ${req.url} -> error: ${String(err)}`);
        if (res.headersSent) res.destroy();
        else sendJson(res, 500, errorBody('api_error', `fake model server: ${String(err)}`));
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
    close: () =>
      new Promise<void>((done) => {
        server.close(() => done());
        // Hung streams and keep-alive sockets would otherwise hold close() open forever.
        server.closeAllConnections();
      }),
  };
}

/** Answers one request and returns its record; never throws (a bad body is a 400). */
function handle(
  req: IncomingMessage,
  res: ServerResponse,
  raw: Buffer,
  hang: boolean,
  usage: Usage,
): RecordedRequest {
  const method = req.method ?? 'GET';
  const path = req.url ?? '/';
  const record = (answer: Answer, extra: Partial<RecordedRequest> = {}): RecordedRequest => ({
    at: Date.now(),
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
      sendJson(res, 400, errorBody('invalid_request_error', 'body is not a JSON object'));
      return record('bad_request', { protocol: protocol.name });
    }
    if (hang) {
      // The stream opens, then nothing: the client waits until it gives up or is killed.
      openSse(res);
      res.write(': the fake model server hangs on purpose\n\n');
      return record('hang', { protocol: protocol.name });
    }
    const reply = decideReply({
      cli: protocol.cli,
      tools: protocol.tools(body),
      hasToolResult: protocol.hasToolResult(body),
      cwd: findCwd(raw.toString('utf8')),
      apiKey: apiKeyOf(req.headers),
    });
    const served = protocol.send(res, body, reply, usage);
    return record(
      reply.kind,
      served ? { protocol: protocol.name, usage: served } : { protocol: protocol.name },
    );
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
  sendJson(res, 404, errorBody('not_found_error', `fake model server: no route for ${method} ${path}`));
  return record('not_found');
}

/** An error body both API families' clients can read: `{type: 'error', error: {type, message}}`. */
function errorBody(type: string, message: string) {
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

/** Standalone use: `--port N`, `--hang`; runs until SIGINT or SIGTERM. */
async function main(argv: string[]): Promise<void> {
  const portAt = argv.indexOf('--port');
  const server = await startModelServer({
    port: portAt >= 0 ? Number(argv[portAt + 1]) : 0,
    hang: argv.includes('--hang'),
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
