import { USAGE } from './script.js';

/**
 * Token usage as one response reported it, in its protocol's own meaning, so a test can sum what
 * the fake served and compare it with what something in between counted:
 *
 * - Anthropic Messages: `inputTokens` is `input_tokens`, the prompt tokens *not* read from or
 *   written to the cache; the cache tokens come on top.
 * - OpenAI Responses and Chat Completions: `inputTokens` is `input_tokens` / `prompt_tokens`,
 *   which *include* `cacheReadTokens` (`cached_tokens`); these APIs report no cache writes (0).
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** USD, only where the response carried a cost (Chat Completions, OpenRouter style). */
  costUsd?: number;
}

/**
 * Cache tokens reported with `cacheTokens: true`: of the USAGE.inputTokens prompt, this many were
 * read from the cache and (Anthropic only) this many written to it.
 */
export const CACHE_USAGE = { cacheReadTokens: 800, cacheWriteTokens: 100 } as const;

export interface UsageOptions {
  /** Report CACHE_USAGE; off by default, so replies stay what the CLIs' summaries are tested on. */
  cacheTokens?: boolean;
  /** A `cost` in USD on every Chat Completions usage, as OpenRouter reports it. */
  reportCost?: number;
}

/**
 * What every reply is to report, before a protocol puts it in its own shape; here `inputTokens` is
 * the whole prompt, cache tokens included, whatever the protocol then calls input.
 */
export function plannedUsage(options: UsageOptions): Usage {
  const cache = options.cacheTokens ? CACHE_USAGE : { cacheReadTokens: 0, cacheWriteTokens: 0 };
  const planned: Usage = { inputTokens: USAGE.inputTokens, outputTokens: USAGE.outputTokens, ...cache };
  if (options.reportCost !== undefined) planned.costUsd = options.reportCost;
  return planned;
}
