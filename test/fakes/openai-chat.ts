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
import type { Usage } from './usage.js';

/**
 * OpenAI Chat Completions (`POST /v1/chat/completions`), as opencode calls it through
 * `@ai-sdk/openai-compatible`. A stream is unnamed `data:` lines of `chat.completion.chunk`
 * objects: the first delta carries the role, tool calls arrive as `delta.tool_calls[i]` with the
 * id and name first and the arguments in pieces, the last choice chunk has `finish_reason`; with
 * `stream_options.include_usage` a chunk with empty `choices` carries `usage`; then `data: [DONE]`.
 */
export const openaiChat: Protocol = {
  name: 'openai-chat',
  cli: 'opencode',

  tools(body) {
    return asArray(body.tools)
      .filter(isRecord)
      .map((t) => t.function)
      .filter(isRecord)
      .filter((f) => typeof f.name === 'string')
      .map((f) => ({ name: String(f.name), kind: 'function', properties: schemaProperties(f.parameters) }));
  },

  hasToolResult(body) {
    return asArray(body.messages).some((m) => isRecord(m) && m.role === 'tool');
  },

  send(res, body, reply, planned) {
    const base = {
      id: fakeId('chatcmpl-'),
      created: Math.floor(Date.now() / 1000),
      model: typeof body.model === 'string' ? body.model : 'fake-model',
    };
    const usage = chatUsage(planned);
    const call =
      reply.kind === 'tool_call'
        ? { id: fakeId('call_'), type: 'function', name: reply.name, arguments: JSON.stringify(reply.input) }
        : undefined;
    const finish = call ? 'tool_calls' : 'stop';
    const text = reply.kind === 'tool_call' ? null : reply.text;

    if (body.stream !== true) {
      const message = call
        ? {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } },
            ],
          }
        : { role: 'assistant', content: text };
      sendJson(res, 200, {
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message, finish_reason: finish }],
        usage,
      });
      return reported(planned);
    }

    openSse(res);
    const chunk = (delta: Record<string, unknown>, finishReason: string | null = null) =>
      sseEvent(res, undefined, {
        ...base,
        object: 'chat.completion.chunk',
        choices: [{ index: 0, delta, finish_reason: finishReason }],
      });
    if (call) {
      chunk({
        role: 'assistant',
        content: null,
        tool_calls: [
          { index: 0, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
        ],
      });
      for (const piece of halves(call.arguments)) {
        chunk({ tool_calls: [{ index: 0, function: { arguments: piece } }] });
      }
    } else {
      chunk({ role: 'assistant', content: '' });
      for (const piece of halves(text ?? '')) chunk({ content: piece });
    }
    chunk({}, finish);
    const options = isRecord(body.stream_options) ? body.stream_options : {};
    const withUsage = options.include_usage === true;
    if (withUsage) sseEvent(res, undefined, { ...base, object: 'chat.completion.chunk', choices: [], usage });
    sseEvent(res, undefined, '[DONE]');
    res.end();
    return withUsage ? reported(planned) : undefined;
  },
};

/**
 * `prompt_tokens` includes the `cached_tokens` read from the cache. The details and the cost are
 * there only when asked for, so that by default the usage is the plain one the CLIs are tested on.
 */
function chatUsage(planned: Usage): Record<string, unknown> {
  const usage: Record<string, unknown> = {
    prompt_tokens: planned.inputTokens,
    completion_tokens: planned.outputTokens,
    total_tokens: planned.inputTokens + planned.outputTokens,
  };
  if (planned.cacheReadTokens > 0) usage.prompt_tokens_details = { cached_tokens: planned.cacheReadTokens };
  if (planned.costUsd !== undefined) usage.cost = planned.costUsd;
  return usage;
}

/** What the usage (in the last chunk, or the one JSON body) reported. */
function reported(planned: Usage): Usage {
  const usage: Usage = {
    inputTokens: planned.inputTokens,
    outputTokens: planned.outputTokens,
    cacheReadTokens: planned.cacheReadTokens,
    cacheWriteTokens: 0,
  };
  if (planned.costUsd !== undefined) usage.costUsd = planned.costUsd;
  return usage;
}
