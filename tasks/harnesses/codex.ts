import type { HarnessConfig } from '../../pipeline/config.js';
import { builtInRoute, type HarnessAdapter, homeEnv, keyEnvsOf, VENDOR_UPSTREAM } from './adapter.js';
import { codexTranscript } from './transcript.js';

/** Codex `exec`: non-interactive, approvals and sandbox bypassed (the workspace is the fence). */
export function codex(config: HarnessConfig): HarnessAdapter {
  const tokenEnv = 'OPENAI_API_KEY';
  return {
    name: 'codex',
    displayName: 'Codex',
    builtIn: true,
    tokenEnv,
    keyEnvs: keyEnvsOf(config, tokenEnv),
    gateway: builtInRoute(config, 'openai', 'OPENAI_BASE_URL', VENDOR_UPSTREAM.openai),
    requiresModel: false,
    argv: ({ model, prompt, args }) => [
      'codex',
      'exec',
      '--json',
      '--skip-git-repo-check',
      '--dangerously-bypass-approvals-and-sandbox',
      ...(model ? ['--model', model] : []),
      ...args,
      prompt,
    ],
    env: () => ({ ...config.env }),
    versionCommand: config.versionCommand ?? ['codex', '--version'],
    config,
    setup: ({ home }) => {
      // A gateway is a provider of its own, spoken to with the Responses API.
      const provider = config.baseUrl
        ? `model_provider = "bench"\n\n[model_providers.bench]\nname = "bench-pipeline"\n` +
          `base_url = ${JSON.stringify(config.baseUrl)}\nwire_api = "responses"\nenv_key = ${JSON.stringify(tokenEnv)}\n\n`
        : '';
      return {
        env: { ...homeEnv(home), CODEX_HOME: `${home}/.codex` },
        files: { '.codex/config.toml': `${provider}[analytics]\nenabled = false\n` },
      };
    },
    transcript: codexTranscript,
    passEnv: ['OPENAI_BASE_URL'],
  };
}
