import type { HarnessConfig } from '../../pipeline/config.js';
import type { HarnessAdapter } from './adapter.js';
import { claudeCode } from './claude-code.js';
import { codex } from './codex.js';
import { customHarness } from './custom.js';
import { opencode } from './opencode.js';

const BUILT_INS: Record<string, (config: HarnessConfig) => HarnessAdapter> = {
  'claude-code': claudeCode,
  codex,
  opencode,
};

export const BUILT_IN_HARNESSES = Object.keys(BUILT_INS);

/** Every harness name known under this config: built-ins and configured custom harnesses. */
export function knownHarnesses(configured: Record<string, HarnessConfig>): string[] {
  return [...new Set([...BUILT_IN_HARNESSES, ...Object.keys(configured)])];
}

/** The adapter for `name`, or undefined when neither built in nor configured. */
export function harnessAdapter(
  name: string,
  configured: Record<string, HarnessConfig>,
): HarnessAdapter | undefined {
  const config = configured[name] ?? {};
  const builtIn = BUILT_INS[name];
  if (config.command) return customHarness(name, { ...config, command: config.command });
  return builtIn?.(config);
}
