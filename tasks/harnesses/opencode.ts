import type { HarnessConfig } from '../../pipeline/config.js';
import { builtInRoute, type HarnessAdapter, homeEnv, keyEnvsOf, VENDOR_UPSTREAM } from './adapter.js';
import { opencodeTranscript } from './transcript.js';

/** opencode `run`: one shot with JSON events; it has no vendor default model. */
export function opencode(config: HarnessConfig): HarnessAdapter {
  const tokenEnv = 'OPENROUTER_API_KEY';
  return {
    name: 'opencode',
    displayName: 'opencode',
    builtIn: true,
    tokenEnv,
    keyEnvs: keyEnvsOf(config, tokenEnv),
    // Its models are `provider/model`; the default provider is OpenRouter.
    gateway: builtInRoute(config, 'openai', undefined, VENDOR_UPSTREAM.openrouter),
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
    setup: ({ home, model }) => {
      const settings: Record<string, unknown> = {
        $schema: 'https://opencode.ai/config.json',
        autoupdate: false,
        share: 'disabled',
      };
      // A gateway: the model's provider becomes an OpenAI-compatible one at that address.
      const [provider, ...rest] = (model ?? '').split('/');
      if (config.baseUrl && provider && rest.length) {
        settings.provider = {
          [provider]: {
            npm: '@ai-sdk/openai-compatible',
            name: provider,
            options: { baseURL: config.baseUrl, apiKey: `{env:${tokenEnv}}` },
            models: { [rest.join('/')]: { name: rest.join('/'), tool_call: true } },
          },
        };
      }
      return {
        env: { ...homeEnv(home), OPENCODE_DISABLE_AUTOUPDATE: '1' },
        files: { '.config/opencode/opencode.json': `${JSON.stringify(settings, null, 2)}\n` },
      };
    },
    transcript: opencodeTranscript,
    passEnv: [],
  };
}
