/**
 * Reading an agent CLI's JSON event stream (its transcript) as it arrives: whether its final event
 * has passed, and a summary of the attempt.
 */

/** How long a CLI may go on after its final event before it is ended: it is done, not waited on. */
export const LINGER_MS = 5_000;

/** What an attempt did, from its transcript; null where the CLI does not report it. */
export interface TranscriptSummary {
  /** Turns as the CLI counts them: claude's num_turns, codex's turns of the exec, opencode's steps. */
  turns: number | null;
  toolCalls: number;
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  /** The CLI's own last word: `success`, `error_max_turns`, `failed: <message>`, `incomplete`, ... */
  status: string;
}

export interface TranscriptReader {
  /** Takes one event (a parsed JSON line of the CLI's stdout). */
  onEvent(event: Record<string, unknown>): void;
  /** The CLI's final event has passed: whatever it does now is not part of the attempt. */
  readonly final: boolean;
  summary(): TranscriptSummary;
}

/**
 * Feeds a CLI's stdout, chunk by chunk, to `reader`, one JSON event per line; lines that are not
 * events (a stray message) are skipped: agent-run.log has them.
 */
export function lineFeeder(reader: TranscriptReader): (chunk: Buffer | string) => void {
  let pending = '';
  return (chunk) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop()!;
    for (const line of lines) {
      if (!line.trimStart().startsWith('{')) continue;
      try {
        reader.onEvent(JSON.parse(line));
      } catch {
        // Not an event after all.
      }
    }
  };
}

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (v && typeof v === 'object' ? (v as Json) : {});
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const add = (a: number | null, b: unknown) => (num(b) === null ? a : (a ?? 0) + num(b)!);

/**
 * A reader whose `take` reads one event into the summary and returns true at the CLI's final
 * event. `turns` starts at 0 for CLIs whose turns are counted here, null where the CLI reports them.
 */
function reader(turns: number | null, take: (e: Json, s: TranscriptSummary) => boolean): TranscriptReader {
  const s: TranscriptSummary = {
    turns,
    toolCalls: 0,
    inputTokens: null,
    outputTokens: null,
    costUsd: null,
    status: 'incomplete',
  };
  let final = false;
  return {
    onEvent(e) {
      if (take(e, s)) final = true;
    },
    get final() {
      return final;
    },
    summary: () => ({ ...s }),
  };
}

/** Claude Code `--output-format stream-json`: tool_use blocks in assistant messages, then one `result`. */
export const claudeTranscript = () =>
  reader(null, (e, s) => {
    if (e.type === 'assistant') {
      const content = obj(e.message).content;
      if (Array.isArray(content)) s.toolCalls += content.filter((c) => obj(c).type === 'tool_use').length;
    }
    if (e.type !== 'result') return false;
    const usage = obj(e.usage);
    s.turns = num(e.num_turns);
    s.costUsd = num(e.total_cost_usd);
    s.inputTokens = add(
      add(num(usage.input_tokens), usage.cache_read_input_tokens),
      usage.cache_creation_input_tokens,
    );
    s.outputTokens = num(usage.output_tokens);
    s.status = e.is_error ? `error: ${String(e.subtype ?? 'unknown')}` : String(e.subtype ?? 'success');
    return true;
  });

const CODEX_TOOLS = new Set(['command_execution', 'file_change', 'mcp_tool_call', 'web_search']);

/** codex `exec --json`: items (commands, patches, tool calls) within a turn that completes or fails. */
export const codexTranscript = () =>
  reader(0, (e, s) => {
    if (e.type === 'item.completed' && CODEX_TOOLS.has(String(obj(e.item).type))) s.toolCalls++;
    if (e.type !== 'turn.completed' && e.type !== 'turn.failed') return false;
    s.turns = (s.turns ?? 0) + 1;
    const usage = obj(e.usage);
    s.inputTokens = add(s.inputTokens, usage.input_tokens);
    s.outputTokens = add(s.outputTokens, usage.output_tokens);
    s.status = e.type === 'turn.completed' ? 'success' : `failed: ${String(obj(e.error).message ?? '')}`;
    return true;
  });

/**
 * opencode `run --format json`: a step per model call, each ending in `step_finish` with its
 * tokens and cost. It has no closing event: the step that stops without asking for tools is the last.
 */
export const opencodeTranscript = () =>
  reader(0, (e, s) => {
    const part = obj(e.part);
    if (e.type === 'tool_use') s.toolCalls++;
    if (e.type === 'error') {
      const error = obj(e.error);
      s.status = `error: ${String(obj(error.data).message ?? error.name ?? 'unknown')}`;
    }
    if (e.type !== 'step_finish') return false;
    s.turns = (s.turns ?? 0) + 1;
    const tokens = obj(part.tokens);
    s.inputTokens = add(s.inputTokens, tokens.input);
    s.outputTokens = add(s.outputTokens, tokens.output);
    s.costUsd = add(s.costUsd, part.cost);
    if (part.reason !== 'stop') return false;
    s.status = 'success';
    return true;
  });
