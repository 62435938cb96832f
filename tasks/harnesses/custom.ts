import type { HarnessConfig } from '../../pipeline/config.js';
import { type HarnessAdapter, homeEnv, keyEnvsOf, MODEL_ENV, VENDOR_UPSTREAM } from './adapter.js';

/** Where a custom harness that speaks one of the two APIs finds the gateway's URL and, by default, its key. */
export const BASE_URL_ENV = { anthropic: 'ANTHROPIC_BASE_URL', openai: 'OPENAI_BASE_URL' } as const;
const DEFAULT_KEY_ENV = { anthropic: 'ANTHROPIC_API_KEY', openai: 'OPENAI_API_KEY' } as const;

/**
 * A command harness from bench.config.ts: `command` runs with cwd = the workspace and the wrapper
 * prompt as its last argument; the resolved model arrives in BENCH_PIPELINE_MODEL. Unless its
 * config says `home: false`, it gets a home of its own like the built-in CLIs.
 */
export function customHarness(name: string, config: HarnessConfig & { command: string[] }): HarnessAdapter {
  const family = config.gateway || undefined;
  const keys = keyEnvsOf(config, family && DEFAULT_KEY_ENV[family]);
  return {
    name,
    displayName: name,
    builtIn: false,
    tokenEnv: keys[0],
    keyEnvs: keys,
    gateway: family && { family, upstream: config.baseUrl ?? VENDOR_UPSTREAM[family] },
    requiresModel: false,
    argv: ({ prompt, args }) => [...config.command, ...args, prompt],
    env: ({ model }) => ({ ...config.env, ...(model ? { [MODEL_ENV]: model } : {}) }),
    versionCommand: config.versionCommand,
    config,
    passEnv: [],
    ...(config.home !== false && { setup: ({ home }) => ({ env: homeEnv(home), files: {} }) }),
  };
}
