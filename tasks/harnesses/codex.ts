import type { HarnessConfig } from '../../pipeline/config.js';
import type { HarnessAdapter } from './adapter.js';

/** Codex `exec`: non-interactive, approvals and sandbox bypassed (the workspace is the fence). */
export function codex(config: HarnessConfig): HarnessAdapter {
  return {
    name: 'codex',
    displayName: 'Codex',
    builtIn: true,
    tokenEnv: config.tokenEnv ?? 'OPENAI_API_KEY',
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
  };
}
