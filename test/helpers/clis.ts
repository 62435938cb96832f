import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * The real agent CLIs, installed by test/harnesses/install-clis.sh outside the project's install.
 * Suites that need them are skipped without them, except under CI=true, where they must run.
 */
export const CLIS = join(
  process.env.BENCH_PIPELINE_TEST_CLIS ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'bench-pipeline/test-clis'),
  'node_modules/.bin',
);

export const clisInstalled = ['claude', 'codex', 'opencode'].every((c) => existsSync(join(CLIS, c)));
if (!clisInstalled && process.env.CI === 'true') {
  throw new Error(`CI=true but the agent CLIs are not in ${CLIS}: run test/harnesses/install-clis.sh first`);
}

/** Each CLI, the model it is asked for, its attempt directory prefix and how it reaches the fake API. */
export const HARNESSES = [
  {
    harness: 'claude-code',
    model: 'claude-sonnet-4-5',
    id: 'claude-code-claude-sonnet-4-5',
    v1: false,
    key: 'ANTHROPIC_API_KEY',
    protocol: 'anthropic-messages',
  },
  {
    harness: 'codex',
    model: 'gpt-5.5',
    id: 'codex-gpt-5.5',
    v1: true,
    key: 'OPENAI_API_KEY',
    protocol: 'openai-responses',
  },
  {
    harness: 'opencode',
    model: 'fake/fake-model',
    id: 'opencode-fake-fake-model',
    v1: true,
    key: 'OPENROUTER_API_KEY',
    protocol: 'openai-chat',
  },
] as const;
