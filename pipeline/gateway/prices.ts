import type { Usage } from './usage.js';

/** What a model's tokens cost. A cache price left out is the input price (no discount). */
export interface Price {
  /** USD per million tokens */
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
  /** where and when the figure was taken, e.g. 'anthropic.com/pricing 2025-11' */
  source: string;
}

/** A price from the config: its source may be left out, since the config is the source. */
export type PriceOverride = Omit<Price, 'source'> & { source?: string };

const ANTHROPIC_SOURCE = 'anthropic.com/pricing 2025-11';

/**
 * Anthropic's list prices. cacheWrite is the 5-minute write (1.25x input; a 1-hour write costs
 * 2x and is not told apart in usage), cacheRead 0.1x input. Sonnet's higher price for prompts over
 * 200K tokens (1M-context beta) is not modelled.
 */
const ANTHROPIC: Readonly<Record<string, Price>> = {
  'claude-opus-4-5': { input: 5, output: 25, cacheRead: 0.5, cacheWrite: 6.25, source: ANTHROPIC_SOURCE },
  'claude-opus-4-1': { input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75, source: ANTHROPIC_SOURCE },
  'claude-opus-4': { input: 15, output: 75, cacheRead: 1.5, cacheWrite: 18.75, source: ANTHROPIC_SOURCE },
  'claude-sonnet-4-5': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, source: ANTHROPIC_SOURCE },
  'claude-sonnet-4': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, source: ANTHROPIC_SOURCE },
  'claude-3-7-sonnet': { input: 3, output: 15, cacheRead: 0.3, cacheWrite: 3.75, source: ANTHROPIC_SOURCE },
  'claude-haiku-4-5': { input: 1, output: 5, cacheRead: 0.1, cacheWrite: 1.25, source: ANTHROPIC_SOURCE },
  'claude-3-5-haiku': { input: 0.8, output: 4, cacheRead: 0.08, cacheWrite: 1, source: ANTHROPIC_SOURCE },
};

const OPENAI_SOURCE = 'openai.com/api/pricing 2025-11';

/** OpenAI's standard-tier list prices; cacheRead is its cached-input price. */
const OPENAI: Readonly<Record<string, Price>> = {
  'gpt-5': { input: 1.25, output: 10, cacheRead: 0.125, source: OPENAI_SOURCE },
  'gpt-5-mini': { input: 0.25, output: 2, cacheRead: 0.025, source: OPENAI_SOURCE },
  'gpt-5-nano': { input: 0.05, output: 0.4, cacheRead: 0.005, source: OPENAI_SOURCE },
  'gpt-5-codex': { input: 1.25, output: 10, cacheRead: 0.125, source: OPENAI_SOURCE },
  'gpt-5.1': { input: 1.25, output: 10, cacheRead: 0.125, source: OPENAI_SOURCE },
  'gpt-5.1-codex': { input: 1.25, output: 10, cacheRead: 0.125, source: OPENAI_SOURCE },
  'gpt-4.1': { input: 2, output: 8, cacheRead: 0.5, source: OPENAI_SOURCE },
  'gpt-4.1-mini': { input: 0.4, output: 1.6, cacheRead: 0.1, source: OPENAI_SOURCE },
  'gpt-4.1-nano': { input: 0.1, output: 0.4, cacheRead: 0.025, source: OPENAI_SOURCE },
  o3: { input: 2, output: 8, cacheRead: 0.5, source: OPENAI_SOURCE },
  'o4-mini': { input: 1.1, output: 4.4, cacheRead: 0.275, source: OPENAI_SOURCE },
  'gpt-4o': { input: 2.5, output: 10, cacheRead: 1.25, source: OPENAI_SOURCE },
  // The first gpt-4o snapshot kept its launch price, so dropping its date would misprice it.
  'gpt-4o-2024-05-13': { input: 5, output: 15, source: OPENAI_SOURCE },
  'gpt-4o-mini': { input: 0.15, output: 0.6, cacheRead: 0.075, source: OPENAI_SOURCE },
};

/**
 * Open-weight models as OpenRouter names them, at their makers' own list prices. OpenRouter routes
 * them to several hosts at prices of their own, but reports the cost it charged (usage.cost), which
 * wins over these. Anthropic's and OpenAI's models need no entry here: see priceOf.
 */
const OPENROUTER: Readonly<Record<string, Price>> = {
  'z-ai/glm-4.6': { input: 0.6, output: 2.2, cacheRead: 0.11, source: 'docs.z.ai pricing 2025-10' },
  'deepseek/deepseek-chat-v3.1': {
    input: 0.56,
    output: 1.68,
    cacheRead: 0.07,
    source: 'api-docs.deepseek.com pricing 2025-09',
  },
  'moonshotai/kimi-k2': {
    input: 0.6,
    output: 2.5,
    cacheRead: 0.15,
    source: 'platform.moonshot.ai pricing 2025-09',
  },
};

/** The shipped prices, by model id. A config's `prices` override them. */
export const PRICES: Readonly<Record<string, Price>> = Object.freeze({
  ...ANTHROPIC,
  ...OPENAI,
  ...OPENROUTER,
});

/** A dated snapshot suffix: Anthropic's `-20250929`, OpenAI's `-2025-04-14`. */
const SNAPSHOT = /-(?:\d{8}|\d{4}-\d{2}-\d{2})$/;

/**
 * The price of `model`, trying in turn: the id as given; without a leading `openrouter/` (how
 * opencode names OpenRouter models); without a snapshot date (a snapshot costs what its model
 * does); and for a `vendor/model` id, the model alone, also with Anthropic's dashes where
 * OpenRouter writes dots (`anthropic/claude-sonnet-4.5` is `claude-sonnet-4-5`). At each step the
 * config's overrides come before the shipped prices.
 */
export function priceOf(model: string, overrides: Record<string, PriceOverride> = {}): Price | undefined {
  const local = model.replace(/^openrouter\//, '');
  const names = [model, local, local.replace(SNAPSHOT, '')];
  const bare = local.slice(local.lastIndexOf('/') + 1);
  if (bare !== local) names.push(bare, bare.replace(SNAPSHOT, ''), bare.replaceAll('.', '-'));
  for (const name of names) {
    const price = lookup(name, overrides);
    if (price) return price;
  }
  return undefined;
}

function lookup(name: string, overrides: Record<string, PriceOverride>): Price | undefined {
  // Own keys only, so `constructor` is no model.
  const override = Object.hasOwn(overrides, name) ? overrides[name] : undefined;
  if (override) return { ...override, source: override.source ?? 'config prices' };
  return Object.hasOwn(PRICES, name) ? PRICES[name] : undefined;
}

/**
 * What a call cost in USD, and where the figure comes from: the upstream's own report when it
 * gave one (it knows its discounts and routing), else the tokens at `price`; undefined without either.
 */
export function costOf(usage: Usage, price: Price | undefined): { usd: number; source: string } | undefined {
  if (usage.reportedCostUsd !== undefined)
    return { usd: usage.reportedCostUsd, source: 'reported by the upstream' };
  if (!price) return undefined;
  const perMillion =
    usage.inputTokens * price.input +
    usage.outputTokens * price.output +
    usage.cacheReadTokens * (price.cacheRead ?? price.input) +
    usage.cacheWriteTokens * (price.cacheWrite ?? price.input);
  return { usd: perMillion / 1_000_000, source: price.source };
}
