import type { HarnessConfig } from '../../pipeline/config.js';
import type { HarnessAdapter } from './adapter.js';

/** opencode `run`: one shot with JSON events; it has no vendor default model. */
export function opencode(config: HarnessConfig): HarnessAdapter {
  return {
    name: 'opencode',
    displayName: 'opencode',
    builtIn: true,
    tokenEnv: config.tokenEnv ?? 'OPENROUTER_API_KEY',
    requiresModel: true,
    argv: ({ model, prompt, args }) => [
      'opencode',
      'run',
      '--format',
      'json',
      ...(model ? ['--model', model] : []),
      ...args,
      prompt,
    ],
    env: () => ({ ...config.env }),
    versionCommand: config.versionCommand ?? ['opencode', '--version'],
    config,
  };
}
