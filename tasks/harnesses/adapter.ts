import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { HarnessConfig } from '../../pipeline/config.js';
import type { TranscriptReader } from './transcript.js';

/** What a harness needs to build one invocation. */
export interface InvocationInput {
  /** The resolved model, or undefined for the vendor default. */
  model: string | undefined;
  /** The wrapper prompt, given as the last argument. */
  prompt: string;
  /** Extra arguments from config and variant, placed before the prompt. */
  args: readonly string[];
}

/**
 * A harness adapter: how to run one agent CLI one-shot and headless. Built-in adapters know their
 * CLI; custom command harnesses come from bench.config.ts.
 */
export interface HarnessAdapter {
  name: string;
  displayName: string;
  builtIn: boolean;
  /** The host variable holding the token; it reaches only the harness environment. */
  tokenEnv: string | undefined;
  /** opencode has no vendor default model, so an attempt without one is refused. */
  requiresModel: boolean;
  /** The full argv (program first) of a lite-mode invocation. */
  argv(input: InvocationInput): string[];
  /** Environment added for the harness process, besides the token. */
  env(input: InvocationInput): Record<string, string>;
  /** Prints the CLI version; undefined when the harness has none. */
  versionCommand: string[] | undefined;
  /** Options from config that change what the harness does, for the attempt key. */
  config: HarnessConfig;
  /**
   * The CLI's configuration and state for one attempt, all under `home` (a directory of that
   * attempt's own): files to write there, relative to it, and the environment that points the
   * CLI at them. Never a token: that stays in the environment.
   */
  setup?(input: SetupInput): { env: Record<string, string>; files: Record<string, string> };
  /** Reads the CLI's JSON event stream (stdout); custom harnesses have none. */
  transcript?(): TranscriptReader;
  /** Host variables handed to the container too when set (base-URL overrides for gateways). */
  passEnv: string[];
}

export interface SetupInput {
  home: string;
  model: string | undefined;
  /** Running as root (claude then needs IS_SANDBOX=1 to bypass permissions). */
  root: boolean;
}

/**
 * Makes `home` the CLI's configuration and state directory for one attempt (the files of its
 * `setup`, and a TMPDIR), and returns the environment that points the CLI there. Used on the host
 * in lite mode and by run-attempt in the container.
 */
export function prepareHome(
  adapter: HarnessAdapter,
  home: string,
  model: string | undefined,
): Record<string, string> {
  if (!adapter.setup) return {};
  const { env, files } = adapter.setup({ home, model, root: process.getuid?.() === 0 });
  mkdirSync(join(home, 'tmp'), { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(home, path)), { recursive: true });
    writeFileSync(join(home, path), content, { flag: 'wx' });
  }
  return env;
}

/** HOME, XDG and TMPDIR inside `home`: a CLI finds no configuration, state or cache of anyone else's. */
export function homeEnv(home: string): Record<string, string> {
  return {
    HOME: home,
    XDG_CONFIG_HOME: `${home}/.config`,
    XDG_DATA_HOME: `${home}/.local/share`,
    XDG_STATE_HOME: `${home}/.local/state`,
    XDG_CACHE_HOME: `${home}/.cache`,
    TMPDIR: `${home}/tmp`,
  };
}

/** The environment variable through which a custom harness learns its resolved model. */
export const MODEL_ENV = 'BENCH_PIPELINE_MODEL';

/** The default instruction given to every harness, after which it is on its own. */
export const DEFAULT_WRAPPER_PROMPT =
  'Read prompt.md and context.md in this directory and complete the task end to end. ' +
  'Do not ask follow-up questions. Write all files inside this directory.';

/** The wrapper prompt reaches run-attempt in the container through this variable. */
export const PROMPT_ENV = 'BENCH_PIPELINE_PROMPT';

/** The harness options from config (baseUrl, tokenEnv, args with the variant's) reach run-attempt as JSON here. */
export const OPTIONS_ENV = 'BENCH_PIPELINE_HARNESS_OPTIONS';
