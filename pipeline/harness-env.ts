import { MODEL_ENV } from '../tasks/harnesses/adapter.js';
import { BUILT_IN_HARNESSES, harnessAdapter } from '../tasks/harnesses/registry.js';
import type { ResolvedConfig } from './config.js';
import type { EventSink } from './events.js';
import { type AttemptLine, lineHasWork, type Plan } from './plan.js';
import { isSecretLike, Redactor } from './redact.js';

/** What a harness gets of the host's environment, and which tokens are masked where. */

/** Every variable that holds a harness token under this config: none of them leaks into another harness. */
export function tokenVariables(config: ResolvedConfig): string[] {
  const names = new Set<string>();
  for (const h of [...BUILT_IN_HARNESSES, ...Object.keys(config.harnesses)]) {
    const tokenEnv = harnessAdapter(h, config.harnesses)?.tokenEnv;
    if (tokenEnv) names.add(tokenEnv);
  }
  return [...names];
}

/** Masks what a run prints and its shared state: every real token of the config. */
export function configRedactor(config: ResolvedConfig): Redactor {
  return new Redactor(tokenVariables(config).map((n) => process.env[n]));
}

/**
 * What one attempt writes is masked with its own harness's token only (one redactor per token
 * variable): another harness's key, never in this harness's environment, cannot be in its work.
 */
export function harnessRedactors(): (line: AttemptLine) => Redactor {
  const byVariable = new Map<string, Redactor>();
  return ({ adapter: { tokenEnv } }) => {
    const name = tokenEnv ?? '';
    const redactor = byVariable.get(name) ?? new Redactor([tokenEnv && process.env[tokenEnv]]);
    byVariable.set(name, redactor);
    return redactor;
  };
}

/**
 * A harness token set to a placeholder (`test`, `none`) is not masked (see isSecretLike): the run
 * says so, naming the variable but never its value.
 */
export function warnPlaceholderTokens(plan: Plan, emit: EventSink): void {
  const told = new Set<string>();
  for (const bp of plan.benchmarks) {
    for (const line of bp.lines) {
      const name = line.adapter.tokenEnv;
      const value = name && process.env[name];
      if (!name || !value || isSecretLike(value) || told.has(name) || !lineHasWork(line)) continue;
      told.add(name);
      emit({
        type: 'warning',
        message: `${name} (${line.adapter.name}'s token) is not a real secret (under 16 characters, or a plain word), so it is not masked in what the run writes`,
      });
    }
  }
}

/**
 * The harness environment. Lite: the host's, minus every known token variable (a harness sees
 * only its own). Docker: nothing of the host's but base-URL overrides. Then the harness's configured env, the variant's
 * env and its own token.
 */
export function harnessEnv(
  line: AttemptLine,
  tokenNames: string[],
  mode: 'lite' | 'docker',
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = mode === 'lite' ? { ...process.env } : {};
  // Docker: of the host's environment only the harness's base-URL overrides (gateways, proxies).
  if (mode === 'docker')
    for (const name of line.adapter.passEnv) if (process.env[name]) env[name] = process.env[name];
  for (const n of tokenNames) delete env[n];
  delete env[MODEL_ENV];
  Object.assign(env, line.adapter.env({ model: line.model, prompt: '', args: [] }), line.variant?.config.env);
  const token = line.adapter.tokenEnv;
  if (token && process.env[token]) env[token] = process.env[token];
  return env;
}
