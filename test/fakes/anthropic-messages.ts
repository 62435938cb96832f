import type { ServerResponse } from 'node:http';
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
import { type Reply, USAGE } from './script.js';
import type { Usage } from './usage.js';

/**
 * Anthropic Messages API (`POST /v1/messages`), as Claude Code calls it. A stream is
 * `message_start`, then per content block `content_block_start` / `content_block_delta`... /
 * `content_block_stop`, then `message_delta` (stop reason, output tokens) and `message_stop`;
 * every SSE event is named and its data repeats the name in `type`.
 */
export const anthropicMessages: Protocol = {
  name: 'anthropic-messages',
  cli: 'claude-code',

  tools(body) {
    return asArray(body.tools)
      .filter(isRecord)
      .filter((t) => typeof t.name === 'string' && t.input_schema !== undefined)
      .map((t) => ({ name: String(t.name), kind: 'function', properties: schemaProperties(t.input_schema) }));
  },

  hasToolResult(body) {
    return asArray(body.messages).some(
      (m) => isRecord(m) && asArray(m.content).some((c) => isRecord(c) && c.type === 'tool_result'),
    );
  },

  send(res, body, reply, planned) {
    const model = typeof body.model === 'string' ? body.model : 'claude-fake';
    const id = fakeId('msg_');
    const block = contentBlock(reply);
    const stopReason = reply.kind === 'tool_call' ? 'tool_use' : 'end_turn';
    if (body.stream !== true) {
      sendJson(res, 200, {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [block],
        stop_reason: stopReason,
        stop_sequence: null,
        usage: usage(planned, planned.outputTokens),
      });
      return reported(planned);
    }
    openSse(res);
    const ev = (type: string, data: Record<string, unknown>) => sseEvent(res, type, { type, ...data });
    const message = { id, type: 'message', role: 'assistant', model, content: [], stop_reason: null };
    ev('message_start', { message: { ...message, stop_sequence: null, usage: usage(planned, 1) } });
    ev('ping', {});
    streamBlock(ev, block);
    ev('message_delta', {
      delta: { stop_reason: stopReason, stop_sequence: null },
      usage: { output_tokens: planned.outputTokens },
    });
    ev('message_stop', {});
    res.end();
    return reported(planned);
  },
};

type Emit = (type: string, data: Record<string, unknown>) => void;

/** The finished content block, as a non-streamed message holds it. */
function contentBlock(reply: Reply): Record<string, unknown> {
  if (reply.kind === 'tool_call') {
    return { type: 'tool_use', id: fakeId('toolu_'), name: reply.name, input: reply.input };
  }
  return { type: 'text', text: reply.text };
}

/**
 * Streams one block: the start event carries it empty, the deltas fill it in. Text and tool input
 * are each split in two deltas so the client's accumulation is exercised, as a real stream would.
 */
function streamBlock(ev: Emit, block: Record<string, unknown>): void {
  if (block.type === 'tool_use') {
    const json = JSON.stringify(block.input);
    ev('content_block_start', { index: 0, content_block: { ...block, input: {} } });
    for (const part of halves(json)) {
      ev('content_block_delta', { index: 0, delta: { type: 'input_json_delta', partial_json: part } });
    }
  } else {
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } });
    for (const part of halves(String(block.text))) {
      ev('content_block_delta', { index: 0, delta: { type: 'text_delta', text: part } });
    }
  }
  ev('content_block_stop', { index: 0 });
}

/** Anthropic's `input_tokens` leaves out the cache tokens, which it reports beside them. */
function usage(planned: Usage, outputTokens: number) {
  return {
    input_tokens: uncachedInput(planned),
    output_tokens: outputTokens,
    cache_creation_input_tokens: planned.cacheWriteTokens,
    cache_read_input_tokens: planned.cacheReadTokens,
  };
}

function uncachedInput(planned: Usage): number {
  return planned.inputTokens - planned.cacheReadTokens - planned.cacheWriteTokens;
}

/** What a reply reported: the usage of `message_start`, with the output tokens of `message_delta`. */
function reported(planned: Usage): Usage {
  return {
    inputTokens: uncachedInput(planned),
    outputTokens: planned.outputTokens,
    cacheReadTokens: planned.cacheReadTokens,
    cacheWriteTokens: planned.cacheWriteTokens,
  };
}

/** `POST /v1/messages/count_tokens`: Claude Code asks it before large prompts. */
export function countTokens(res: ServerResponse): void {
  sendJson(res, 200, { input_tokens: USAGE.inputTokens });
}
