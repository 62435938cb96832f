/**
 * The fake model API's switchable misbehaviour, seen with plain `fetch` the way any client sees
 * it: status faults in each API's own error shape, stream cuts, refused keys, held calls, and the
 * usage each reply reported. (The real CLIs against it: harnesses.test.ts.)
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CACHE_USAGE,
  ENV_FILE,
  errorBody,
  HELLO_FILE,
  helloContent,
  type ModelServer,
  type ModelServerOptions,
  type ProtocolName,
  readEnvDump,
  startModelServer,
  USAGE,
} from './fakes/model-server.js';
import { decideReply, type OfferedTool } from './fakes/script.js';

/** Per protocol: its endpoint, the key header its clients send, and a first turn offering a write tool. */
const PROTOCOLS = {
  'anthropic-messages': {
    path: '/v1/messages?beta=true',
    auth: (key: string) => ({ 'x-api-key': key }),
    body: {
      model: 'claude-sonnet-4-5',
      stream: true,
      messages: [{ role: 'user', content: 'hi' }],
      tools: [{ name: 'Write', input_schema: { properties: { file_path: {}, content: {} } } }],
    },
    // The SSE events a cut stream delivers before the connection goes.
    cutEvents: ['message_start', 'ping', 'content_block_start'],
  },
  'openai-responses': {
    path: '/v1/responses',
    auth: (key: string) => ({ authorization: `Bearer ${key}` }),
    body: {
      model: 'gpt-5.5',
      stream: true,
      input: [{ type: 'message', role: 'user', content: 'hi' }],
      tools: [{ type: 'function', name: 'exec_command', parameters: { properties: { cmd: {} } } }],
    },
    cutEvents: ['response.created', 'response.in_progress', 'response.output_item.added'],
  },
  'openai-chat': {
    path: '/v1/chat/completions',
    auth: (key: string) => ({ authorization: `Bearer ${key}` }),
    body: {
      model: 'fake-model',
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: 'user', content: 'hi' }],
      tools: [
        {
          type: 'function',
          function: { name: 'write', parameters: { properties: { filePath: {}, content: {} } } },
        },
      ],
    },
    // Unnamed `data:` events: the role and tool call's start, then both halves of its arguments.
    cutEvents: [undefined, undefined, undefined],
  },
} as const;

const NAMES = Object.keys(PROTOCOLS) as ProtocolName[];
const KEY = 'sk-fake-0123456789abcdef';

let servers: ModelServer[] = [];
afterEach(async () => {
  await Promise.all(servers.map((s) => s.close()));
  servers = [];
});

async function start(options: ModelServerOptions = {}): Promise<ModelServer> {
  const server = await startModelServer(options);
  servers.push(server);
  return server;
}

/** One model call of `protocol`, its first turn unless `body` overrides fields. */
function call(server: ModelServer, protocol: ProtocolName, key = KEY, body: Record<string, unknown> = {}) {
  const p = PROTOCOLS[protocol];
  return fetch(`${server.url}${p.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...p.auth(key) },
    body: JSON.stringify({ ...p.body, ...body }),
  });
}

/** The events of an SSE text: the `event:` name (if any) and the parsed `data:`. */
function events(text: string): { event: string | undefined; data: unknown }[] {
  return text
    .split('\n\n')
    .filter((block) => block.includes('data: '))
    .map((block) => {
      const event = /^event: (.+)$/m.exec(block)?.[1];
      const data = /^data: (.+)$/m.exec(block)![1]!;
      return { event, data: data === '[DONE]' ? data : JSON.parse(data) };
    });
}

/** Reads a body to its end, or until it breaks: what arrived, and the error if it broke. */
async function readAll(res: Response): Promise<{ text: string; error?: unknown }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

const ERRORS = {
  'anthropic-messages': {
    401: { type: 'error', error: { type: 'authentication_error', message: expect.any(String) } },
    403: { type: 'error', error: { type: 'permission_error', message: expect.any(String) } },
    429: { type: 'error', error: { type: 'rate_limit_error', message: expect.any(String) } },
    500: { type: 'error', error: { type: 'api_error', message: expect.any(String) } },
    529: { type: 'error', error: { type: 'overloaded_error', message: expect.any(String) } },
  },
  openai: {
    401: {
      error: {
        message: expect.any(String),
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    },
    403: {
      error: {
        message: expect.any(String),
        type: 'request_forbidden',
        param: null,
        code: 'unsupported_country_region_territory',
      },
    },
    429: {
      error: { message: expect.any(String), type: 'requests', param: null, code: 'rate_limit_exceeded' },
    },
    500: { error: { message: expect.any(String), type: 'server_error', param: null, code: null } },
    529: { error: { message: expect.any(String), type: 'server_error', param: null, code: null } },
  },
} as const;

const STATUSES = [401, 403, 429, 500, 529] as const;

for (const protocol of NAMES) {
  const shape = protocol === 'anthropic-messages' ? ERRORS[protocol] : ERRORS.openai;

  describe(`fake model API, ${protocol}`, () => {
    it('a status fault answers with the status, retry-after and the API’s error body', async () => {
      const server = await start();
      for (const status of STATUSES) {
        server.setFault({ status, retryAfter: 7 });
        const res = await call(server, protocol);
        expect(res.status).toBe(status);
        expect(res.headers.get('retry-after')).toBe('7');
        expect(res.headers.get('content-type')).toBe('application/json');
        expect(await res.json()).toEqual(shape[status]);
      }
      // Without retryAfter, no header.
      server.setFault({ status: 529 });
      const res = await call(server, protocol);
      expect(res.headers.get('retry-after')).toBe(null);
      await res.body?.cancel();
      expect(server.requests.map((r) => r.answer)).toEqual([
        'fault-401',
        'fault-403',
        'fault-429',
        'fault-500',
        'fault-529',
        'fault-529',
      ]);
      expect(server.requests[0]).toMatchObject({
        protocol,
        apiKey: KEY,
        fault: { status: 401, retryAfter: 7 },
      });
      expect(server.requests.every((r) => r.usage === undefined)).toBe(true);
    });

    it('errorType replaces the error type the status implies', async () => {
      const server = await start({ fault: { status: 429, errorType: 'insufficient_quota' } });
      const res = await call(server, protocol);
      expect(res.status).toBe(429);
      expect(await res.json()).toEqual(
        protocol === 'anthropic-messages'
          ? { type: 'error', error: { type: 'insufficient_quota', message: expect.any(String) } }
          : {
              error: {
                message: expect.any(String),
                type: 'insufficient_quota',
                param: null,
                code: 'insufficient_quota',
              },
            },
      );
    });

    it('a fault with times fails that many model calls, then the API recovers', async () => {
      const server = await start();
      server.setFault({ status: 529, times: 2 });
      const statuses = [];
      for (let i = 0; i < 4; i++) {
        const res = await call(server, protocol);
        statuses.push(res.status);
        await res.text();
      }
      expect(statuses).toEqual([529, 529, 200, 200]);
      expect(server.requests.map((r) => r.answer)).toEqual([
        'fault-529',
        'fault-529',
        'tool_call',
        'tool_call',
      ]);
      expect(server.requests.map((r) => r.fault)).toEqual([
        { status: 529, times: 2 },
        { status: 529, times: 2 },
        undefined,
        undefined,
      ]);
    });

    it('a permanent fault lasts until it is switched off; other endpoints keep answering', async () => {
      const server = await start({ fault: { status: 500 } });
      for (let i = 0; i < 3; i++) expect((await call(server, protocol)).status).toBe(500);
      const other = [
        fetch(`${server.url}/v1/messages/count_tokens`, { method: 'POST', body: '{}' }),
        fetch(`${server.url}/v1/models`),
        fetch(`${server.url}/`, { method: 'HEAD' }),
      ];
      expect((await Promise.all(other)).map((r) => r.status)).toEqual([200, 200, 200]);
      server.setFault(undefined);
      const res = await call(server, protocol);
      expect(res.status).toBe(200);
      await res.text();
      expect(server.requests.map((r) => r.answer)).toEqual([
        'fault-500',
        'fault-500',
        'fault-500',
        ...['count_tokens', 'models', 'probe'],
        'tool_call',
      ]);
    });

    it('a cut opens the stream, sends the first events of a real reply, then drops the connection', async () => {
      const server = await start({ fault: { cut: true, times: 1 } });
      const res = await call(server, protocol);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
      const { text, error } = await readAll(res);
      expect(error).toBeInstanceOf(TypeError);
      expect(events(text).map((e) => e.event)).toEqual(PROTOCOLS[protocol].cutEvents);
      // A fetch that reads the body at once rejects too; here the cut is over (times: 1).
      server.setFault({ cut: true });
      await expect(call(server, protocol).then((r) => r.text())).rejects.toThrow(TypeError);
      // Not streamed: half the JSON body, then the connection goes.
      const whole = await call(server, protocol, KEY, { stream: false });
      expect(whole.status).toBe(200);
      await expect(whole.text()).rejects.toThrow(TypeError);
      server.setFault(undefined);
      const after = await call(server, protocol);
      expect((await readAll(after)).error).toBe(undefined);
      expect(server.requests.map((r) => [r.answer, r.fault, r.usage === undefined])).toEqual([
        ['cut', { cut: true, times: 1 }, true],
        ['cut', { cut: true }, true],
        ['cut', { cut: true }, true],
        ['tool_call', undefined, false],
      ]);
    });

    it('a refused key gets a 401 on model calls, another key is served; the set can change', async () => {
      const server = await start({ refuseKeys: ['sk-refused-0000'] });
      const refused = await call(server, protocol, 'sk-refused-0000');
      expect(refused.status).toBe(401);
      expect(await refused.json()).toEqual(shape[401]);
      const served = await call(server, protocol, KEY);
      expect(served.status).toBe(200);
      await served.text();
      // A refused key does not use up a fault's times.
      server.setFault({ status: 529, times: 1 });
      expect((await call(server, protocol, 'sk-refused-0000')).status).toBe(401);
      expect((await call(server, protocol, KEY)).status).toBe(529);
      server.setRefuseKeys([KEY]);
      expect((await call(server, protocol, KEY)).status).toBe(401);
      const now = await call(server, protocol, 'sk-refused-0000');
      expect(now.status).toBe(200);
      await now.text();
      expect(server.requests.map((r) => [r.apiKey, r.answer])).toEqual([
        ['sk-refused-0000', 'refused'],
        [KEY, 'tool_call'],
        ['sk-refused-0000', 'refused'],
        [KEY, 'fault-529'],
        [KEY, 'refused'],
        ['sk-refused-0000', 'tool_call'],
      ]);
    });

    it('records the usage each reply reported', async () => {
      const server = await start();
      for (const stream of [true, false]) {
        const res = await call(server, protocol, KEY, { stream });
        await res.text();
      }
      const plain = { inputTokens: USAGE.inputTokens, outputTokens: USAGE.outputTokens };
      expect(server.requests.map((r) => r.usage)).toEqual([
        { ...plain, cacheReadTokens: 0, cacheWriteTokens: 0 },
        { ...plain, cacheReadTokens: 0, cacheWriteTokens: 0 },
      ]);
    });

    it('holds model calls for delayMs, switchable; other endpoints are not held', async () => {
      const server = await start({ delayMs: 400 });
      const timed = async (send: () => Promise<Response>) => {
        const t0 = performance.now();
        const res = await send();
        const ms = performance.now() - t0;
        await res.text();
        return { status: res.status, ms };
      };
      const held = await timed(() => call(server, protocol));
      expect(held.status).toBe(200);
      expect(held.ms).toBeGreaterThanOrEqual(395);
      const models = await timed(() => fetch(`${server.url}/v1/models`));
      expect(models.ms).toBeLessThan(300);
      // Held before a fault's answer too.
      server.setFault({ status: 529, times: 1 });
      const faulted = await timed(() => call(server, protocol));
      expect(faulted.status).toBe(529);
      expect(faulted.ms).toBeGreaterThanOrEqual(395);
      server.setDelayMs(0);
      expect((await timed(() => call(server, protocol))).ms).toBeLessThan(300);
      expect(server.requests.map((r) => r.answer)).toEqual(['tool_call', 'models', 'fault-529', 'tool_call']);
    });
  });
}

describe('fake model API, faults and hangs', () => {
  it('a fault answers instead of a hang, and the hang is back once its times are used up', async () => {
    const server = await start({ hang: true, fault: { cut: true, times: 1 } });
    expect((await readAll(await call(server, 'anthropic-messages'))).error).toBeInstanceOf(TypeError);
    const abort = new AbortController();
    const hung = await fetch(`${server.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': KEY },
      body: JSON.stringify(PROTOCOLS['anthropic-messages'].body),
      signal: abort.signal,
    });
    expect(hung.status).toBe(200);
    abort.abort();
    expect(server.requests.map((r) => r.answer)).toEqual(['cut', 'hang']);
  });
});

describe('fake model API, cache tokens and cost', () => {
  it('Anthropic: cache reads and writes beside input_tokens, which leaves them out', async () => {
    const server = await start({ cacheTokens: true });
    const res = await call(server, 'anthropic-messages');
    const started = events(await res.text()).find((e) => e.event === 'message_start');
    const uncached = USAGE.inputTokens - CACHE_USAGE.cacheReadTokens - CACHE_USAGE.cacheWriteTokens;
    expect((started!.data as { message: { usage: unknown } }).message.usage).toEqual({
      input_tokens: uncached,
      output_tokens: 1,
      cache_creation_input_tokens: CACHE_USAGE.cacheWriteTokens,
      cache_read_input_tokens: CACHE_USAGE.cacheReadTokens,
    });
    expect(server.requests[0]?.usage).toEqual({
      inputTokens: uncached,
      outputTokens: USAGE.outputTokens,
      ...CACHE_USAGE,
    });
  });

  it('Responses: cached_tokens included in input_tokens; no cache writes', async () => {
    const server = await start({ cacheTokens: true, reportCost: 0.25 });
    const res = await call(server, 'openai-responses');
    const done = events(await res.text()).find((e) => e.event === 'response.completed');
    expect((done!.data as { response: { usage: unknown } }).response.usage).toEqual({
      input_tokens: USAGE.inputTokens,
      input_tokens_details: { cached_tokens: CACHE_USAGE.cacheReadTokens },
      output_tokens: USAGE.outputTokens,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: USAGE.inputTokens + USAGE.outputTokens,
    });
    // The Responses API reports no cost: reportCost is for Chat Completions.
    expect(server.requests[0]?.usage).toEqual({
      inputTokens: USAGE.inputTokens,
      outputTokens: USAGE.outputTokens,
      cacheReadTokens: CACHE_USAGE.cacheReadTokens,
      cacheWriteTokens: 0,
    });
  });

  it('Chat Completions: prompt_tokens_details.cached_tokens and an OpenRouter cost; none without include_usage', async () => {
    const server = await start({ cacheTokens: true, reportCost: 0.0125 });
    const res = await call(server, 'openai-chat');
    const chunks = events(await res.text());
    expect(chunks.at(-1)?.data).toBe('[DONE]');
    expect((chunks.at(-2)!.data as { usage: unknown }).usage).toEqual({
      prompt_tokens: USAGE.inputTokens,
      completion_tokens: USAGE.outputTokens,
      total_tokens: USAGE.inputTokens + USAGE.outputTokens,
      prompt_tokens_details: { cached_tokens: CACHE_USAGE.cacheReadTokens },
      cost: 0.0125,
    });
    const bare = await call(server, 'openai-chat', KEY, { stream_options: { include_usage: false } });
    expect(await bare.text()).not.toContain('usage');
    expect(server.requests.map((r) => r.usage)).toEqual([
      {
        inputTokens: USAGE.inputTokens,
        outputTokens: USAGE.outputTokens,
        cacheReadTokens: CACHE_USAGE.cacheReadTokens,
        cacheWriteTokens: 0,
        costUsd: 0.0125,
      },
      undefined,
    ]);
  });

  it('by default the usage has no cache details and no cost', async () => {
    const server = await start();
    const res = await call(server, 'openai-chat');
    const chunks = events(await res.text());
    expect((chunks.at(-2)!.data as { usage: unknown }).usage).toEqual({
      prompt_tokens: USAGE.inputTokens,
      completion_tokens: USAGE.outputTokens,
      total_tokens: USAGE.inputTokens + USAGE.outputTokens,
    });
  });
});

describe('fake model API, env-dump mode', () => {
  const turn = (tools: OfferedTool[], cli: 'claude-code' | 'codex' | 'opencode') =>
    decideReply({ cli, tools, hasToolResult: false, cwd: '/w', apiKey: KEY, dumpEnv: true });
  const fn = (name: string, ...properties: string[]): OfferedTool => ({ name, kind: 'function', properties });
  const line = (cli: string) =>
    `printf '%s' 'hello from ${cli}' > hello.txt && env -0 | base64 -w0 > env.b64`;

  it('goes through each CLI’s shell tool, never its write tool', () => {
    expect(
      turn([fn('Write', 'file_path', 'content'), fn('Bash', 'command', 'description')], 'claude-code'),
    ).toEqual({
      kind: 'tool_call',
      name: 'Bash',
      input: { command: line('claude-code'), description: 'Write hello.txt and env.b64' },
    });
    expect(turn([fn('exec_command', 'cmd', 'workdir')], 'codex')).toEqual({
      kind: 'tool_call',
      name: 'exec_command',
      input: { cmd: line('codex') },
    });
    expect(turn([fn('shell', 'command')], 'codex')).toEqual({
      kind: 'tool_call',
      name: 'shell',
      input: { command: ['bash', '-lc', line('codex')] },
    });
    expect(
      turn([fn('write', 'filePath', 'content'), fn('bash', 'command', 'description')], 'opencode'),
    ).toEqual({
      kind: 'tool_call',
      name: 'bash',
      input: { command: line('opencode'), description: 'Write hello.txt and env.b64' },
    });
    expect(turn([fn('write', 'filePath', 'content')], 'opencode')).toEqual({
      kind: 'side',
      text: 'fake model: no shell tool offered',
    });
  });

  it('the server plays it when dumpEnv is set', async () => {
    const server = await start({ dumpEnv: true });
    const tools = [
      { name: 'Write', input_schema: { properties: { file_path: {}, content: {} } } },
      { name: 'Bash', input_schema: { properties: { command: {}, description: {} } } },
    ];
    const res = await call(server, 'anthropic-messages', KEY, { stream: false, tools });
    expect(((await res.json()) as { content: unknown[] }).content).toEqual([
      {
        type: 'tool_use',
        id: expect.stringMatching(/^toolu_/),
        name: 'Bash',
        input: { command: line('claude-code'), description: 'Write hello.txt and env.b64' },
      },
    ]);
  });

  it('the shell line writes hello.txt and an env.b64 that decodes to the environment, newlines and all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bp-fake-env-'));
    try {
      const env = { PATH: process.env.PATH, OPENAI_API_KEY: KEY, MULTI: 'one\ntwo=2' };
      const r = spawnSync('sh', ['-c', line('codex')], { cwd: dir, env, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(await readFile(join(dir, HELLO_FILE), 'utf8')).toBe(helloContent('codex'));
      const dumped = readEnvDump(await readFile(join(dir, ENV_FILE), 'utf8'));
      expect(dumped).toMatchObject({ OPENAI_API_KEY: KEY, MULTI: 'one\ntwo=2' });
      // The key is in the file only encoded: a plain-text redactor has nothing to match.
      expect(await readFile(join(dir, ENV_FILE), 'utf8')).not.toContain(KEY);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('fake model API error bodies', () => {
  it('fall back by status class, and a 401 from OpenAI names invalid_api_key', () => {
    expect(errorBody('anthropic-messages', 418)).toEqual({
      type: 'error',
      error: { type: 'invalid_request_error', message: 'fake model server: invalid_request_error (418)' },
    });
    expect(errorBody('anthropic-messages', 503)).toEqual({
      type: 'error',
      error: { type: 'api_error', message: 'fake model server: api_error (503)' },
    });
    expect(errorBody('openai-chat', 401)).toEqual({
      error: {
        message: 'fake model server: invalid_api_key (401)',
        type: 'invalid_request_error',
        param: null,
        code: 'invalid_api_key',
      },
    });
    expect(errorBody('openai-responses', 503)).toEqual({
      error: {
        message: 'fake model server: server_error (503)',
        type: 'server_error',
        param: null,
        code: null,
      },
    });
  });
});
