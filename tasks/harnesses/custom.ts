import type { HarnessConfig } from '../../pipeline/config.js';
import { type HarnessAdapter, homeEnv, MODEL_ENV } from './adapter.js';

/**
 * A command harness from bench.config.ts: `command` runs with cwd = the workspace and the wrapper
 * prompt as its last argument; the resolved model arrives in BENCH_PIPELINE_MODEL. Unless its
 * config says `home: false`, it gets a home of its own like the built-in CLIs.
 */
export function customHarness(name: string, config: HarnessConfig & { command: string[] }): HarnessAdapter {
  return {
    name,
    displayName: name,
    builtIn: false,
    tokenEnv: config.tokenEnv,
    requiresModel: false,
    argv: ({ prompt, args }) => [...config.command, ...args, prompt],
    env: ({ model }) => ({ ...config.env, ...(model ? { [MODEL_ENV]: model } : {}) }),
    versionCommand: config.versionCommand,
    config,
    passEnv: [],
    ...(config.home !== false && { setup: ({ home }) => ({ env: homeEnv(home), files: {} }) }),
  };
}
