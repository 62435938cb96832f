import type { HarnessConfig } from '../../pipeline/config.js';
import { type HarnessAdapter, homeEnv } from './adapter.js';
import { claudeTranscript } from './transcript.js';

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
    setup: ({ home, root }) => ({
      env: {
        ...homeEnv(home),
        CLAUDE_CONFIG_DIR: `${home}/.claude`,
        DISABLE_AUTOUPDATER: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_ERROR_REPORTING: '1',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        // Claude Code refuses to bypass permissions as root outside a declared sandbox.
        ...(root ? { IS_SANDBOX: '1' } : {}),
        ...(config.baseUrl ? { ANTHROPIC_BASE_URL: config.baseUrl } : {}),
      },
      files: {},
    }),
    transcript: claudeTranscript,
    passEnv: ['ANTHROPIC_BASE_URL'],
  };
}
