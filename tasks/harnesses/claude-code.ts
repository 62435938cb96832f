import type { HarnessConfig } from '../../pipeline/config.js';
import { builtInRoute, type HarnessAdapter, homeEnv, keyEnvsOf, VENDOR_UPSTREAM } from './adapter.js';
import { claudeTranscript } from './transcript.js';

/** Claude Code in print mode: one shot, permissions bypassed, the event stream on stdout. */
export function claudeCode(config: HarnessConfig): HarnessAdapter {
  return {
    name: 'claude-code',
    displayName: 'Claude Code',
    builtIn: true,
    // Claude Code reads no other variable: a configured tokenEnv says where the key comes from.
    tokenEnv: 'ANTHROPIC_API_KEY',
    keyEnvs: keyEnvsOf(config, 'ANTHROPIC_API_KEY'),
    gateway: builtInRoute(config, 'anthropic', 'ANTHROPIC_BASE_URL', VENDOR_UPSTREAM.anthropic),
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
