import type { HarnessConfig } from '../../pipeline/config.js';
import type { HarnessAdapter } from './adapter.js';

/** Claude Code in print mode: one shot, permissions bypassed, the event stream on stdout. */
export function claudeCode(config: HarnessConfig): HarnessAdapter {
  return {
    name: 'claude-code',
    displayName: 'Claude Code',
    builtIn: true,
    tokenEnv: config.tokenEnv ?? 'ANTHROPIC_API_KEY',
    requiresModel: false,
    argv: ({ model, prompt, args }) => [
      'claude',
      '-p',
      '--output-format',
      'stream-json',
      '--verbose',
      '--dangerously-skip-permissions',
      ...(model ? ['--model', model] : []),
      ...args,
      prompt,
    ],
    env: () => ({ ...config.env }),
    versionCommand: config.versionCommand ?? ['claude', '--version'],
    config,
  };
}
