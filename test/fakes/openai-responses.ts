import {
  asArray,
  fakeId,
  halves,
  isRecord,
  openSse,
  type Protocol,
  schemaProperties,
  sendJson,
  sseEvent,
} from './protocol.js';
import type { Reply } from './script.js';
import type { Usage } from './usage.js';

/**
 * OpenAI Responses API (`POST /v1/responses`), as codex calls it. A stream is `response.created`,
 * `response.in_progress`, then per output item `response.output_item.added`, its deltas and
 * `response.output_item.done`, and last `response.completed` with the whole response and its
 * usage. There is no `[DONE]` sentinel: codex fails a stream that closes before
 * `response.completed`. Each event carries a growing `sequence_number`.
 */
export const openaiResponses: Protocol = {
  name: 'openai-responses',
  cli: 'codex',

  tools(body) {
    return asArray(body.tools)
      .filter(isRecord)
      .filter((t) => (t.type === 'function' || t.type === 'custom') && typeof t.name === 'string')
      .map((t) => ({
        name: String(t.name),
        kind: t.type === 'custom' ? 'custom' : 'function',
        properties: schemaProperties(t.parameters),
      }));
  },

  hasToolResult(body) {
    const outputs = new Set(['function_call_output', 'custom_tool_call_output']);
    return asArray(body.input).some((item) => isRecord(item) && outputs.has(String(item.type)));
  },

  send(res, body, reply, planned) {
    const model = typeof body.model === 'string' ? body.model : 'gpt-fake';
    const response = {
      id: fakeId('resp_'),
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      model,
      output: [] as unknown[],
      parallel_tool_calls: true,
      tool_choice: 'auto',
      tools: [],
    };
    const item = outputItem(reply);
    const { text: _text, ...finished } = item;
    const done = { ...response, status: 'completed', output: [finished], usage: usage(planned) };
    if (body.stream !== true) {
      sendJson(res, 200, done);
      return reported(planned);
    }
    openSse(res);
    let seq = 0;
    const ev = (type: string, data: Record<string, unknown>) =>
      sseEvent(res, type, { type, sequence_number: seq++, ...data });
    ev('response.created', { response: { ...response, status: 'in_progress', usage: null } });
    ev('response.in_progress', { response: { ...response, status: 'in_progress', usage: null } });
    const at = { output_index: 0, item_id: item.id };
    if (item.type === 'function_call') {
      ev('response.output_item.added', {
        output_index: 0,
        item: { ...item, arguments: '', status: 'in_progress' },
      });
      for (const delta of halves(item.arguments)) {
        ev('response.function_call_arguments.delta', { ...at, delta });
      }
      ev('response.function_call_arguments.done', { ...at, arguments: item.arguments });
    } else {
      const part = { type: 'output_text', text: '', annotations: [] };
      ev('response.output_item.added', {
        output_index: 0,
        item: { ...finished, status: 'in_progress', content: [] },
      });
      ev('response.content_part.added', { ...at, content_index: 0, part });
      for (const delta of halves(item.text)) {
        ev('response.output_text.delta', { ...at, content_index: 0, delta, logprobs: [] });
      }
      ev('response.output_text.done', { ...at, content_index: 0, text: item.text, logprobs: [] });
      ev('response.content_part.done', { ...at, content_index: 0, part: { ...part, text: item.text } });
    }
    ev('response.output_item.done', { output_index: 0, item: finished });
    ev('response.completed', { response: done });
    res.end();
    return reported(planned);
  },
};

type OutputItem =
  | {
      type: 'function_call';
      id: string;
      call_id: string;
      name: string;
      arguments: string;
      status: string;
      text?: never;
    }
  | { type: 'message'; id: string; role: 'assistant'; status: string; content: unknown[]; text: string };

/** The finished output item; `text` is a local convenience, dropped before it is sent. */
function outputItem(reply: Reply): OutputItem {
  if (reply.kind === 'tool_call') {
    return {
      type: 'function_call',
      id: fakeId('fc_'),
      call_id: fakeId('call_'),
      name: reply.name,
      arguments: JSON.stringify(reply.input),
      status: 'completed',
    };
  }
  return {
    type: 'message',
    id: fakeId('msg_'),
    role: 'assistant',
    status: 'completed',
    content: [{ type: 'output_text', text: reply.text, annotations: [] }],
    text: reply.text,
  };
}

/** `input_tokens` includes the `cached_tokens` read from the cache; writes are not reported. */
function usage(planned: Usage) {
  return {
    input_tokens: planned.inputTokens,
    input_tokens_details: { cached_tokens: planned.cacheReadTokens },
    output_tokens: planned.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: planned.inputTokens + planned.outputTokens,
  };
}

/** What `response.completed` (or the one JSON body) reported. */
function reported(planned: Usage): Usage {
  return {
    inputTokens: planned.inputTokens,
    outputTokens: planned.outputTokens,
    cacheReadTokens: planned.cacheReadTokens,
    cacheWriteTokens: 0,
  };
}
