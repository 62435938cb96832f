import { type HarnessAdapter, MODEL_ENV } from '../tasks/harnesses/adapter.js';
import { BASE_URL_ENV } from '../tasks/harnesses/custom.js';
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
    const adapter = harnessAdapter(h, config.harnesses);
    for (const name of [adapter?.tokenEnv, ...(adapter?.keyEnvs ?? [])]) if (name) names.add(name);
  }
  return [...names];
}

/** Masks what a run prints and its shared state: every real token of the config. */
export function configRedactor(config: ResolvedConfig): Redactor {
  return new Redactor(tokenVariables(config).map((n) => process.env[n]));
}

/**
 * What one attempt writes is masked with its own harness's keys only (one redactor per set of
 * key variables): another harness's key, never in this harness's reach, cannot be in its work.
 * Through the gateway no key is in its reach either, but the model may still echo one.
 */
export function harnessRedactors(): (line: AttemptLine) => Redactor {
  const byVariables = new Map<string, Redactor>();
  return ({ adapter: { keyEnvs } }) => {
    const name = keyEnvs.join(' ');
    const redactor = byVariables.get(name) ?? new Redactor(keyEnvs.map((k) => process.env[k]));
    byVariables.set(name, redactor);
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
      if (!lineHasWork(line)) continue;
      for (const name of line.adapter.keyEnvs) {
        const value = process.env[name];
        if (!value || isSecretLike(value) || told.has(name)) continue;
        told.add(name);
        emit({
          type: 'warning',
          message: `${name} (${line.adapter.name}'s token) is not a real secret (under 16 characters, or a plain word), so it is not masked in what the run writes`,
        });
      }
    }
  }
}

/** An attempt's way to its model through the gateway: its capability and the gateway's base URL for it. */
export interface GatewayAccess {
  capability: string;
  /** lite: `http://127.0.0.1:<port>` plus the family's base path; docker: run-attempt's forwarder decides. */
  baseUrl: string | undefined;
}

/**
 * The harness environment. Lite: the host's, minus every known token variable (a harness sees
 * none of the real keys). Docker: nothing of the host's but, direct, base-URL overrides. Then the
 * harness's configured env, the variant's env, and in its token variable the gateway's
 * capability (or, with `gateway: false`, the real key).
 */
export function harnessEnv(
  line: Pick<AttemptLine, 'adapter' | 'model' | 'variant'>,
  tokenNames: string[],
  mode: 'lite' | 'docker',
  access: GatewayAccess | undefined,
): NodeJS.ProcessEnv {
  const { adapter } = line;
  const env: NodeJS.ProcessEnv = mode === 'lite' ? { ...process.env } : {};
  // Direct in docker: of the host's environment only the harness's base-URL overrides (proxies).
  if (mode === 'docker' && !access)
    for (const name of adapter.passEnv) if (process.env[name]) env[name] = process.env[name];
  for (const n of tokenNames) delete env[n];
  delete env[MODEL_ENV];
  // The host's base URLs are the gateway's upstream, never the CLI's.
  if (access) for (const name of Object.values(BASE_URL_ENV)) delete env[name];
  Object.assign(env, adapter.env({ model: line.model, prompt: '', args: [] }), line.variant?.config.env);
  const token = adapter.tokenEnv;
  const key = adapter.keyEnvs[0] && process.env[adapter.keyEnvs[0]];
  if (token && access) env[token] = access.capability;
  else if (token && key) env[token] = key;
  if (access?.baseUrl && !adapter.builtIn && adapter.gateway)
    env[BASE_URL_ENV[adapter.gateway.family]] = access.baseUrl;
  return env;
}

/** A built-in adapter pointed at the gateway (its baseUrl is where the CLI sends requests). */
export function viaGateway(adapter: HarnessAdapter, baseUrl: string): HarnessAdapter {
  if (!adapter.builtIn) return adapter;
  return harnessAdapter(adapter.name, { [adapter.name]: { ...adapter.config, baseUrl } }) ?? adapter;
}
