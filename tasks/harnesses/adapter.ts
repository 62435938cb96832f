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
  /** The variable the CLI reads its key from: it gets the gateway's capability (or, direct, the key). */
  tokenEnv: string | undefined;
  /** The host variables holding the real keys (config `tokenEnv`, one or several); default tokenEnv. */
  keyEnvs: string[];
  /** How it reaches its model through the gateway; undefined: it talks to its API directly. */
  gateway: GatewayRoute | undefined;
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

/** The API a harness speaks and where its requests go upstream of the gateway. */
export interface GatewayRoute {
  family: 'anthropic' | 'openai';
  /** The configured baseUrl, else the base-URL variable of the host, else the vendor's API root. */
  upstream: string;
}

/**
 * The path prefix of the gateway URL a CLI is given: claude-code appends `/v1/messages` to an
 * origin, codex and opencode append `/responses` to an API root that holds `/v1`.
 */
export const basePathOf = (family: GatewayRoute['family']) => (family === 'anthropic' ? '' : '/v1');

/** The vendor API roots, in the form each family's base URL takes (an origin; the root with /v1). */
export const VENDOR_UPSTREAM = {
  anthropic: 'https://api.anthropic.com',
  openai: 'https://api.openai.com/v1',
  openrouter: 'https://openrouter.ai/api/v1',
} as const;

/** The key variables of a harness config: `tokenEnv` as one name or several. */
export const keyEnvsOf = (config: HarnessConfig, fallback: string | undefined): string[] =>
  config.tokenEnv === undefined ? (fallback ? [fallback] : []) : [config.tokenEnv].flat();

/**
 * The route of a built-in harness, unless its config says `gateway: false`: the configured
 * baseUrl, else the host's base-URL variable, else the vendor's API root.
 */
export function builtInRoute(
  config: HarnessConfig,
  family: GatewayRoute['family'],
  baseUrlEnv: string | undefined,
  vendor: string,
): GatewayRoute | undefined {
  if (config.gateway === false) return undefined;
  return { family, upstream: config.baseUrl ?? (baseUrlEnv && process.env[baseUrlEnv]) ?? vendor };
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

/** What run-attempt gets in OPTIONS_ENV: the options of bench.config.ts that shape the invocation. */
export interface HarnessOptions {
  /** The model API's address from config; never given with a gateway, which holds the upstream. */
  baseUrl?: string;
  /** The harness's and the variant's extra arguments. */
  args?: string[];
  /**
   * The model gateway, reached through its unix socket mounted into the container (at `socket`):
   * run-attempt forwards a loopback port to it, and the CLI's base URL is that port's
   * `http://127.0.0.1:<port>` followed by `basePath`.
   */
  gateway?: { socket: string; basePath: string };
}
