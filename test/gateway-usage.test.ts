import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { costOf, PRICES, priceOf } from '../pipeline/gateway/prices.js';
import { SseDataReader } from '../pipeline/gateway/sse.js';
import {
  MAX_KEPT_BYTES,
  protocolOf,
  type Usage,
  UsageMeter,
  type WireProtocol,
} from '../pipeline/gateway/usage.js';

const SSE = 'text/event-stream; charset=utf-8';
const JSON_TYPE = 'application/json';

/** claude-code's stream from the Messages API: a cached prompt, non-ASCII text, a ping. */
const ANTHROPIC_STREAM = `event: message_start
data: {"type":"message_start","message":{"id":"msg_01XFDUDYJgAACzvnptvVoYEL","type":"message","role":"assistant","model":"claude-sonnet-4-5-20250929","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":12,"cache_creation_input_tokens":1840,"cache_read_input_tokens":20483,"cache_creation":{"ephemeral_5m_input_tokens":1840,"ephemeral_1h_input_tokens":0},"output_tokens":1,"service_tier":"standard"}}}

event: content_block_start
data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

event: ping
data: {"type": "ping"}

event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Déjà vu — 日本語 🧪 ✓"}}

event: content_block_stop
data: {"type":"content_block_stop","index":0}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"input_tokens":12,"cache_creation_input_tokens":1840,"cache_read_input_tokens":20483,"output_tokens":356}}

event: message_stop
data: {"type":"message_stop"}

`;

const ANTHROPIC_USAGE: Usage = {
  inputTokens: 12,
  outputTokens: 356,
  cacheReadTokens: 20483,
  cacheWriteTokens: 1840,
  model: 'claude-sonnet-4-5-20250929',
};

/** codex's stream from the Responses API; the usage comes only with response.completed. */
const RESPONSES_STREAM = `event: response.created
data: {"type":"response.created","sequence_number":0,"response":{"id":"resp_68f1c0a2b4e08190","object":"response","created_at":1762000000,"status":"in_progress","model":"gpt-5-codex","output":[],"usage":null}}

event: response.in_progress
data: {"type":"response.in_progress","sequence_number":1,"response":{"id":"resp_68f1c0a2b4e08190","object":"response","created_at":1762000000,"status":"in_progress","model":"gpt-5-codex","output":[],"usage":null}}

event: response.output_item.added
data: {"type":"response.output_item.added","sequence_number":2,"output_index":0,"item":{"id":"msg_68f1c0a3","type":"message","status":"in_progress","content":[],"role":"assistant"}}

event: response.output_text.delta
data: {"type":"response.output_text.delta","sequence_number":3,"item_id":"msg_68f1c0a3","output_index":0,"content_index":0,"delta":"Done: über-fast ✅","logprobs":[]}

event: response.completed
data: {"type":"response.completed","sequence_number":4,"response":{"id":"resp_68f1c0a2b4e08190","object":"response","created_at":1762000000,"status":"completed","model":"gpt-5-codex","output":[{"id":"msg_68f1c0a3","type":"message","status":"completed","content":[{"type":"output_text","annotations":[],"text":"Done: über-fast ✅"}],"role":"assistant"}],"usage":{"input_tokens":9120,"input_tokens_details":{"cached_tokens":8064},"output_tokens":412,"output_tokens_details":{"reasoning_tokens":256},"total_tokens":9532}}}

`;

/** opencode's stream from OpenRouter's Chat Completions: a processing comment, usage with cost last. */
const OPENROUTER_STREAM = `: OPENROUTER PROCESSING

data: {"id":"gen-1762000000-abc","provider":"Z.AI","model":"z-ai/glm-4.6","object":"chat.completion.chunk","created":1762000000,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}

data: {"id":"gen-1762000000-abc","provider":"Z.AI","model":"z-ai/glm-4.6","object":"chat.completion.chunk","created":1762000000,"choices":[{"index":0,"delta":{"role":"assistant","content":"Fertig – alles grün."},"finish_reason":null,"native_finish_reason":null,"logprobs":null}]}

data: {"id":"gen-1762000000-abc","provider":"Z.AI","model":"z-ai/glm-4.6","object":"chat.completion.chunk","created":1762000000,"choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":"stop","native_finish_reason":"stop","logprobs":null}]}

data: {"id":"gen-1762000000-abc","provider":"Z.AI","model":"z-ai/glm-4.6","object":"chat.completion.chunk","created":1762000000,"choices":[],"usage":{"prompt_tokens":5210,"completion_tokens":188,"total_tokens":5398,"cost":0.0034836,"is_byok":false,"prompt_tokens_details":{"cached_tokens":4096,"audio_tokens":0},"cost_details":{"upstream_inference_cost":null},"completion_tokens_details":{"reasoning_tokens":120,"image_tokens":0}}}

data: [DONE]

`;

/** OpenAI's own Chat Completions with stream_options.include_usage: `usage: null` until the last chunk. */
const OPENAI_CHAT_STREAM = `data: {"id":"chatcmpl-CQ1x","object":"chat.completion.chunk","created":1762000000,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b3f1157249","choices":[{"index":0,"delta":{"role":"assistant","content":"","refusal":null},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-CQ1x","object":"chat.completion.chunk","created":1762000000,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b3f1157249","choices":[{"index":0,"delta":{"content":"ok"},"logprobs":null,"finish_reason":null}],"usage":null}

data: {"id":"chatcmpl-CQ1x","object":"chat.completion.chunk","created":1762000000,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b3f1157249","choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}],"usage":null}

data: {"id":"chatcmpl-CQ1x","object":"chat.completion.chunk","created":1762000000,"model":"gpt-4.1-2025-04-14","service_tier":"default","system_fingerprint":"fp_b3f1157249","choices":[],"usage":{"prompt_tokens":1200,"completion_tokens":80,"total_tokens":1280,"prompt_tokens_details":{"cached_tokens":1024,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":0,"audio_tokens":0,"accepted_prediction_tokens":0,"rejected_prediction_tokens":0}}}

data: [DONE]

`;

type Headers = { contentType?: string; contentEncoding?: string };

/** Meters `chunks` as one response. */
async function meter(protocol: WireProtocol, headers: Headers, chunks: Buffer[]): Promise<Usage | undefined> {
  const m = new UsageMeter(protocol, headers);
  for (const chunk of chunks) m.write(chunk);
  return m.end();
}

/** `data` in pieces of `size` bytes. */
function pieces(data: Buffer, size: number): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < data.length; at += size) out.push(data.subarray(at, at + size));
  return out;
}

/** Every way of cutting `data` in two, including the empty cuts at either end. */
function cuts(data: Buffer): Buffer[][] {
  return Array.from({ length: data.length + 1 }, (_, at) => [data.subarray(0, at), data.subarray(at)]);
}

describe('protocolOf', () => {
  it('knows the model calls by the end of the path, past any prefix and query', () => {
    expect(protocolOf('POST', '/v1/messages')).toBe('anthropic-messages');
    expect(protocolOf('post', '/anthropic/v1/messages?beta=true')).toBe('anthropic-messages');
    expect(protocolOf('POST', '/v1/responses')).toBe('openai-responses');
    expect(protocolOf('POST', '/backend-api/codex/responses')).toBe('openai-responses');
    expect(protocolOf('POST', '/api/v1/chat/completions')).toBe('openai-chat');
  });

  it('refuses other endpoints and methods', () => {
    expect(protocolOf('POST', '/v1/messages/count_tokens')).toBeUndefined();
    expect(protocolOf('POST', '/v1/messages/batches')).toBeUndefined();
    expect(protocolOf('GET', '/v1/responses')).toBeUndefined();
    expect(protocolOf('POST', '/v1/responses/resp_123/cancel')).toBeUndefined();
    expect(protocolOf('POST', '/v1/completions')).toBeUndefined();
    expect(protocolOf('POST', '/v1/mymessages')).toBeUndefined();
    expect(protocolOf('GET', '/v1/models')).toBeUndefined();
  });
});

describe('SSE data', () => {
  /** The data of each event `text` holds, read from `chunks`. */
  function read(chunks: Buffer[]): string[] {
    const data: string[] = [];
    const reader = new SseDataReader((d) => data.push(d), MAX_KEPT_BYTES);
    for (const chunk of chunks) reader.push(chunk);
    reader.end();
    return data;
  }

  it('is the same wherever the chunks are cut, inside a line or a UTF-8 character, with LF or CRLF', () => {
    for (const text of [ANTHROPIC_STREAM, ANTHROPIC_STREAM.replaceAll('\n', '\r\n')]) {
      const bytes = Buffer.from(text);
      const whole = read([bytes]);
      expect(whole).toHaveLength(7);
      expect(JSON.parse(whole[3]!).delta.text).toBe('Déjà vu — 日本語 🧪 ✓');
      for (const chunks of cuts(bytes)) expect(read(chunks)).toEqual(whole);
      expect(read(pieces(bytes, 1))).toEqual(whole);
    }
  });

  it('joins data lines, ends lines at CR alone, and hands on an event the stream stops in', () => {
    const bytes = Buffer.from('id: 1\rdata: {"a":\r\ndata:1}\n: comment\nevent: x\ndata\r\rdata: last');
    for (const chunks of cuts(bytes)) expect(read(chunks)).toEqual(['{"a":\n1}\n', 'last']);
  });

  it('drops a line over the limit with the rest of its event, and reads on', () => {
    const data: string[] = [];
    const reader = new SseDataReader((d) => data.push(d), 16);
    reader.push(Buffer.from('data: a\ndata: 0123456789abcdefXYZ\ndata: b\n\ndata: after\n\n'));
    reader.end();
    expect(data).toEqual(['after']);
  });
});

describe('usage of streams', () => {
  it('Anthropic: cache reads and writes apart from input, the last message_delta counts', async () => {
    expect(await meter('anthropic-messages', { contentType: SSE }, [Buffer.from(ANTHROPIC_STREAM)])).toEqual(
      ANTHROPIC_USAGE,
    );
  });

  it('Anthropic: the same at every cut and one byte at a time', async () => {
    const bytes = Buffer.from(ANTHROPIC_STREAM);
    for (const chunks of cuts(bytes)) {
      expect(await meter('anthropic-messages', { contentType: SSE }, chunks)).toEqual(ANTHROPIC_USAGE);
    }
    expect(await meter('anthropic-messages', { contentType: SSE }, pieces(bytes, 1))).toEqual(
      ANTHROPIC_USAGE,
    );
  });

  it('Anthropic: message_delta counts are running totals, not increments', async () => {
    const stream = `event: message_start
data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[],"usage":{"input_tokens":40,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":1}}}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":null},"usage":{"output_tokens":120}}

event: message_delta
data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"input_tokens":44,"output_tokens":356}}

`;
    expect(await meter('anthropic-messages', { contentType: SSE }, [Buffer.from(stream)])).toEqual({
      inputTokens: 44,
      outputTokens: 356,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      model: 'claude-haiku-4-5-20251001',
    });
  });

  it('OpenAI Responses: cached tokens are taken out of the input', async () => {
    const usage = await meter(
      'openai-responses',
      { contentType: SSE },
      pieces(Buffer.from(RESPONSES_STREAM), 7),
    );
    expect(usage).toEqual({
      inputTokens: 1056,
      outputTokens: 412,
      cacheReadTokens: 8064,
      cacheWriteTokens: 0,
      model: 'gpt-5-codex',
    });
  });

  it('OpenAI Responses: an incomplete or failed response still reports what it used', async () => {
    for (const type of ['response.incomplete', 'response.failed']) {
      const stream = `event: ${type}\ndata: {"type":"${type}","sequence_number":9,"response":{"object":"response","status":"incomplete","model":"o4-mini-2025-04-16","usage":{"input_tokens":300,"input_tokens_details":{"cached_tokens":0},"output_tokens":4096,"output_tokens_details":{"reasoning_tokens":4096},"total_tokens":4396}}}\n\n`;
      expect(await meter('openai-responses', { contentType: SSE }, [Buffer.from(stream)])).toEqual({
        inputTokens: 300,
        outputTokens: 4096,
        cacheReadTokens: 0,
        cacheWriteTokens: 0,
        model: 'o4-mini-2025-04-16',
      });
    }
  });

  it('OpenRouter Chat Completions: the reported cost, past comments and [DONE]', async () => {
    expect(
      await meter('openai-chat', { contentType: SSE }, pieces(Buffer.from(OPENROUTER_STREAM), 5)),
    ).toEqual({
      inputTokens: 1114,
      outputTokens: 188,
      cacheReadTokens: 4096,
      cacheWriteTokens: 0,
      reportedCostUsd: 0.0034836,
      model: 'z-ai/glm-4.6',
    });
  });

  it('OpenAI Chat Completions: usage null until the last chunk', async () => {
    expect(await meter('openai-chat', { contentType: SSE }, [Buffer.from(OPENAI_CHAT_STREAM)])).toEqual({
      inputTokens: 176,
      outputTokens: 80,
      cacheReadTokens: 1024,
      cacheWriteTokens: 0,
      model: 'gpt-4.1-2025-04-14',
    });
  });

  it('a stream without usage has none', async () => {
    const noUsage = OPENAI_CHAT_STREAM.split('\n\n')
      .filter((event) => !event.includes('"usage":{'))
      .join('\n\n');
    expect(noUsage).toContain('[DONE]');
    expect(await meter('openai-chat', { contentType: SSE }, [Buffer.from(noUsage)])).toBeUndefined();
    const error =
      'event: error\ndata: {"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}\n\n';
    expect(await meter('anthropic-messages', { contentType: SSE }, [Buffer.from(error)])).toBeUndefined();
  });

  it('an event past the size limit is dropped and the usage after it still read', async () => {
    const big = `data: {"choices":[{"delta":{"content":"${'x'.repeat(MAX_KEPT_BYTES)}"}}]}\n\n`;
    const chunks = [...pieces(Buffer.from(big), 1 << 16), Buffer.from(OPENAI_CHAT_STREAM)];
    expect((await meter('openai-chat', { contentType: SSE }, chunks))?.outputTokens).toBe(80);
  });
});

describe('usage of JSON bodies', () => {
  it('Anthropic', async () => {
    const body =
      '{"id":"msg_01","type":"message","role":"assistant","model":"claude-haiku-4-5-20251001","content":[{"type":"text","text":"naïve"}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":2095,"cache_creation_input_tokens":310,"cache_read_input_tokens":4000,"output_tokens":503,"service_tier":"standard"}}';
    expect(
      await meter('anthropic-messages', { contentType: JSON_TYPE }, pieces(Buffer.from(body), 3)),
    ).toEqual({
      inputTokens: 2095,
      outputTokens: 503,
      cacheReadTokens: 4000,
      cacheWriteTokens: 310,
      model: 'claude-haiku-4-5-20251001',
    });
  });

  it('OpenAI Responses', async () => {
    const body =
      '{"id":"resp_1","object":"response","status":"completed","model":"gpt-5-2025-08-07","output":[],"usage":{"input_tokens":5000,"input_tokens_details":{"cached_tokens":4992},"output_tokens":20,"output_tokens_details":{"reasoning_tokens":0},"total_tokens":5020}}';
    expect(await meter('openai-responses', { contentType: JSON_TYPE }, [Buffer.from(body)])).toEqual({
      inputTokens: 8,
      outputTokens: 20,
      cacheReadTokens: 4992,
      cacheWriteTokens: 0,
      model: 'gpt-5-2025-08-07',
    });
  });

  it('OpenAI Chat Completions, without cache details', async () => {
    const body =
      '{"id":"chatcmpl-1","object":"chat.completion","created":1762000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":2,"total_tokens":21}}';
    expect(await meter('openai-chat', { contentType: JSON_TYPE }, [Buffer.from(body)])).toEqual({
      inputTokens: 19,
      outputTokens: 2,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      model: 'gpt-4o-mini-2024-07-18',
    });
  });

  it('a body past the size limit is given up', async () => {
    const usage = '"usage":{"prompt_tokens":19,"completion_tokens":2}';
    const small = Buffer.from(`{"pad":"","${usage.slice(1)}}`);
    expect((await meter('openai-chat', { contentType: JSON_TYPE }, [small]))?.inputTokens).toBe(19);
    const big = Buffer.from(`{"pad":"${'x'.repeat(MAX_KEPT_BYTES)}",${usage}}`);
    expect(await meter('openai-chat', { contentType: JSON_TYPE }, pieces(big, 1 << 16))).toBeUndefined();
  });
});

describe('compressed bodies', () => {
  it('gzip, cut anywhere', async () => {
    const gz = gzipSync(Buffer.from(ANTHROPIC_STREAM));
    for (const chunks of cuts(gz)) {
      const usage = await meter('anthropic-messages', { contentType: SSE, contentEncoding: 'gzip' }, chunks);
      expect(usage).toEqual(ANTHROPIC_USAGE);
    }
  });

  it('br and deflate', async () => {
    const br = brotliCompressSync(Buffer.from(RESPONSES_STREAM));
    const responses = await meter(
      'openai-responses',
      { contentType: SSE, contentEncoding: 'br' },
      pieces(br, 11),
    );
    expect(responses?.inputTokens).toBe(1056);
    expect(responses?.cacheReadTokens).toBe(8064);
    const body = '{"model":"gpt-4.1-mini","usage":{"prompt_tokens":700,"completion_tokens":9}}';
    const deflated = deflateSync(Buffer.from(body));
    const chat = await meter('openai-chat', { contentType: JSON_TYPE, contentEncoding: 'Deflate' }, [
      deflated,
    ]);
    expect(chat).toEqual({
      inputTokens: 700,
      outputTokens: 9,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      model: 'gpt-4.1-mini',
    });
  });

  it('a corrupt, truncated or unknown encoding means no usage, and never a throw', async () => {
    const gz = gzipSync(Buffer.from(OPENROUTER_STREAM));
    const corrupt = Buffer.from(gz);
    corrupt.fill(0x55, 20, 40);
    const headers = { contentType: SSE, contentEncoding: 'gzip' };
    expect(await meter('openai-chat', headers, [corrupt])).toBeUndefined();
    expect(await meter('openai-chat', headers, [gz.subarray(0, gz.length - 4)])).toBeUndefined();
    expect(await meter('openai-chat', headers, [Buffer.from(OPENROUTER_STREAM)])).toBeUndefined();
    const plain = [Buffer.from(OPENROUTER_STREAM)];
    expect(await meter('openai-chat', { contentType: SSE, contentEncoding: 'zstd' }, plain)).toBeUndefined();
    expect(
      await meter('openai-chat', { contentType: SSE, contentEncoding: 'gzip, br' }, plain),
    ).toBeUndefined();
    expect(
      (await meter('openai-chat', { contentType: SSE, contentEncoding: 'identity' }, plain))?.outputTokens,
    ).toBe(188);
  });
});

describe('garbage', () => {
  it('gives no usage and no throw', async () => {
    const noise = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
    for (const contentType of [SSE, JSON_TYPE, 'text/html']) {
      expect(await meter('anthropic-messages', { contentType }, pieces(noise, 100))).toBeUndefined();
    }
    const notJson = 'data: {"usage":\n\ndata: [DONE]\n\ndata: null\n\ndata: 42\n\ndata: {"usage":"lots"}\n\n';
    expect(await meter('openai-chat', { contentType: SSE }, [Buffer.from(notJson)])).toBeUndefined();
    const html = '<html><body>502 Bad Gateway</body></html>';
    expect(
      await meter('openai-responses', { contentType: 'text/html' }, [Buffer.from(html)]),
    ).toBeUndefined();
  });

  it('takes no negative, fractional or string counts, nor more cached tokens than input', async () => {
    const body =
      '{"usage":{"prompt_tokens":10,"completion_tokens":-3,"prompt_tokens_details":{"cached_tokens":99}}}';
    expect(await meter('openai-chat', { contentType: JSON_TYPE }, [Buffer.from(body)])).toEqual({
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 10,
      cacheWriteTokens: 0,
    });
    const odd = '{"usage":{"input_tokens":"12","output_tokens":2.5,"cache_read_input_tokens":7}}';
    expect(await meter('anthropic-messages', { contentType: JSON_TYPE }, [Buffer.from(odd)])).toEqual({
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 7,
      cacheWriteTokens: 0,
    });
  });

  it('ignores writes after the end, and ends with the same answer twice', async () => {
    const m = new UsageMeter('openai-chat', { contentType: SSE });
    m.write(Buffer.from(OPENAI_CHAT_STREAM));
    const first = await m.end();
    m.write(Buffer.from('data: {"usage":{"prompt_tokens":1,"completion_tokens":1}}\n\n'));
    expect(await m.end()).toEqual(first);
    expect(first?.outputTokens).toBe(80);
  });
});

describe('prices', () => {
  const sonnet = PRICES['claude-sonnet-4-5']!;

  it('are found exactly, past openrouter/, past a snapshot date, and by the model after the vendor', () => {
    expect(sonnet).toMatchObject({ input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75 });
    expect(priceOf('claude-sonnet-4-5')).toBe(sonnet);
    expect(priceOf('claude-sonnet-4-5-20250929')).toBe(sonnet);
    expect(priceOf('gpt-4.1-2025-04-14')).toBe(PRICES['gpt-4.1']);
    expect(priceOf('openrouter/z-ai/glm-4.6')).toBe(PRICES['z-ai/glm-4.6']);
    expect(priceOf('openrouter/anthropic/claude-sonnet-4.5')).toBe(sonnet);
    expect(priceOf('anthropic/claude-3.7-sonnet')).toBe(PRICES['claude-3-7-sonnet']);
    expect(priceOf('openai/gpt-5')).toBe(PRICES['gpt-5']);
    expect(priceOf('openrouter/openai/gpt-5.1-codex')).toBe(PRICES['gpt-5.1-codex']);
    expect(priceOf('openai/o4-mini-2025-04-16')).toBe(PRICES['o4-mini']);
  });

  it('keep a snapshot priced apart, and know no model they were not given', () => {
    expect(priceOf('gpt-4o-2024-05-13')).toMatchObject({ input: 5, output: 15 });
    expect(priceOf('gpt-4o-2024-08-06')).toBe(PRICES['gpt-4o']);
    expect(priceOf('claude-sonnet-9')).toBeUndefined();
    expect(priceOf('meta-llama/llama-4-maverick')).toBeUndefined();
    expect(priceOf('constructor')).toBeUndefined();
    expect(priceOf('openai/toString')).toBeUndefined();
  });

  it('overrides come first at each step, with the config as their source unless they name one', () => {
    const overrides = {
      'claude-sonnet-4-5': { input: 1, output: 2 },
      'claude-sonnet-4-5-20250929': { input: 7, output: 8, source: 'our contract 2025-10' },
      'glm-4.6': { input: 0.1, output: 0.2 },
      'my-model': { input: 0.5, output: 1, cacheRead: 0.05 },
    };
    expect(priceOf('claude-sonnet-4-5', overrides)).toEqual({ input: 1, output: 2, source: 'config prices' });
    expect(priceOf('claude-sonnet-4-5-20250929', overrides)).toEqual({
      input: 7,
      output: 8,
      source: 'our contract 2025-10',
    });
    expect(priceOf('anthropic/claude-sonnet-4.5', overrides)?.source).toBe('config prices');
    expect(priceOf('openrouter/my-model', overrides)?.cacheRead).toBe(0.05);
    // The shipped id matches exactly before the override of the bare model name is tried.
    expect(priceOf('openrouter/z-ai/glm-4.6', overrides)).toBe(PRICES['z-ai/glm-4.6']);
    expect(priceOf('other/glm-4.6', overrides)?.input).toBe(0.1);
  });

  it('every shipped price says where it is from', () => {
    for (const [model, price] of Object.entries(PRICES)) {
      expect(price.source, model).toMatch(/^\S+ .*\d{4}-\d{2}$/);
      expect(price.output, model).toBeGreaterThan(price.input);
    }
  });
});

describe('cost', () => {
  const usage: Usage = {
    inputTokens: 1000,
    outputTokens: 500,
    cacheReadTokens: 20000,
    cacheWriteTokens: 2000,
  };

  it('is tokens at the price, cache reads and writes at theirs', () => {
    // 1000 x 3 + 500 x 15 + 20000 x 0.3 + 2000 x 3.75 = 24000 USD per million.
    expect(costOf(usage, PRICES['claude-sonnet-4-5'])).toEqual({
      usd: 0.024,
      source: 'anthropic.com/pricing 2025-11',
    });
  });

  it('charges cache tokens at the input price when the price has none for them', () => {
    const m = 1_000_000;
    const all = { inputTokens: m, outputTokens: m, cacheReadTokens: m, cacheWriteTokens: m };
    expect(costOf(all, { input: 2, output: 8, source: 's' })).toEqual({ usd: 14, source: 's' });
    expect(costOf(all, { input: 2, output: 8, cacheRead: 0.5, cacheWrite: 2.5, source: 's' })?.usd).toBe(13);
  });

  it('reported by the upstream wins over the price, and without either there is none', () => {
    const reported = { ...usage, reportedCostUsd: 0.0034836 };
    expect(costOf(reported, PRICES['claude-sonnet-4-5'])).toEqual({
      usd: 0.0034836,
      source: 'reported by the upstream',
    });
    expect(costOf(reported, undefined)?.usd).toBe(0.0034836);
    expect(costOf(usage, undefined)).toBeUndefined();
  });

  it('of a metered codex stream, priced by the model it names', async () => {
    const metered = (await meter('openai-responses', { contentType: SSE }, [Buffer.from(RESPONSES_STREAM)]))!;
    // 1056 x 1.25 + 412 x 10 + 8064 x 0.125 = 6448 USD per million.
    expect(costOf(metered, priceOf(metered.model!))).toEqual({
      usd: 0.006448,
      source: 'openai.com/api/pricing 2025-11',
    });
  });
});
