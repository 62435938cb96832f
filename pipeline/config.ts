import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { parseTimeout } from './duration.js';
import { diagnosticsOf, UsageError } from './errors.js';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be an environment variable name');
const envMap = z.record(envName, z.string());
/** A harness timeout: a duration such as `30m`, or seconds; one a timer can hold (see parseTimeout). */
const timeout = z.union([z.number(), z.string()]).superRefine((value, ctx) => {
  const parsed = parseTimeout(value);
  if ('problem' in parsed) ctx.addIssue({ code: 'custom', message: parsed.problem });
});

/**
 * A harness entry. With `command` it declares a custom command harness; without, it overrides
 * options of the built-in harness of the same name.
 */
export const harnessConfigSchema = z.strictObject({
  /** argv of a custom harness; in lite mode the wrapper prompt is appended as the last argument. */
  command: z.array(z.string().min(1)).min(1).optional(),
  /**
   * The host variable holding the harness's key, or several (accounts): attempts are spread over
   * them, a rate-limited one cools down while the others go on, a refused one drops out. Through
   * the gateway the key stays with bench-pipeline; with `gateway: false` it reaches only the
   * harness environment.
   */
  tokenEnv: z.union([envName, z.array(envName).min(1)]).optional(),
  /** At most this many attempts at once on one key (default: no limit but `concurrency`). */
  keyConcurrency: z.number().int().min(1).optional(),
  /**
   * How the harness reaches its model. Built-in harnesses go through the run's gateway (the key
   * never enters the sandbox; API faults are never results); `false` lets the CLI talk to its API
   * directly with the real key in its environment. A custom harness opts in by naming the API it
   * speaks: it then gets ANTHROPIC_BASE_URL or OPENAI_BASE_URL pointing at the gateway, and a
   * capability in its token variable.
   */
  gateway: z.union([z.literal(false), z.enum(['anthropic', 'openai'])]).optional(),
  /** Extra environment for the harness process. */
  env: envMap.optional(),
  /** Prints the harness version; its first line goes into the attempt key and run-log. */
  versionCommand: z.array(z.string().min(1)).min(1).optional(),
  /** Extra arguments, placed before the wrapper prompt. */
  args: z.array(z.string()).optional(),
  /**
   * A gateway or proxy for the model API, in the form the CLI takes it: claude-code the origin
   * (ANTHROPIC_BASE_URL), codex and opencode the API root (`https://host/v1`).
   */
  baseUrl: z.string().url().optional(),
  /** Replaces the default wrapper prompt for this harness. */
  wrapperPrompt: z.string().min(1).optional(),
  /**
   * Custom harnesses, lite mode: by default the command gets a home of its own for each attempt
   * (HOME, the XDG_* directories and TMPDIR under `<workspace>.home`, beside the workspace), as the
   * built-in CLIs do, so the agent reads nothing of the invoking user's `~`. `false` runs it with
   * the invoking user's HOME and TMPDIR (a tool that needs its logged-in state there).
   * Built-in harnesses always get their own home.
   */
  home: z.boolean().optional(),
  /**
   * docker: take the harness from this runtime image instead of the benchmark image. Its `path`
   * is extracted once per image digest and mounted read-only at the same path in every attempt
   * container, which runs `entrypoint` (default `<path>/bin/run-attempt`). Name the image by
   * digest (`repo@sha256:...`) to keep attempts reproducible when the tag moves.
   */
  runtime: z
    .strictObject({
      image: z.string().min(1),
      path: z
        .string()
        .regex(/^\/[^:]+$/, 'must be an absolute path inside the image')
        .refine(
          (p) => !['/', '/workspace'].includes(p.replace(/\/+$/, '') || '/'),
          'must not be / or /workspace',
        )
        .default('/opt/bench-pipeline'),
      entrypoint: z.string().regex(/^\//, 'must be an absolute path').optional(),
    })
    .optional(),
});

/** A named configuration (options and env) that multiplies the attempt matrix for paired comparisons. */
export const variantSchema = z.strictObject({
  args: z.array(z.string()).optional(),
  env: envMap.optional(),
});

/** Bytes, or a size such as `512m` or `4g` (see parseSize). */
const size = z.union([
  z.number().int().positive(),
  z.string().regex(/^\d+(\.\d+)?[kmg]?$/i, 'must be bytes or a size such as 512m or 4g'),
]);

/** How a finished workspace becomes an attempt's copy. */
export const collectSchema = z.strictObject({
  /**
   * The largest workspace file copied into an attempt (by its apparent size): bytes, or `512m`,
   * `4g`. A larger file stays in the kept temp workspace and run-log names it with its size; the
   * attempt is still complete. The default leaves room for a multi-gigabyte build output or data
   * file while keeping a runaway log from filling the disk of eval-attempts/.
   */
  maxFileSize: size.default('8g'),
});

/** Docker-mode settings. */
export const dockerSchema = z.strictObject({
  /** The engine address (`unix:///...`, `tcp://host:2376`, `ssh://user@host`); default DOCKER_HOST, then the local socket. */
  host: z.string().min(1).optional(),
  /** CPU limit per attempt container, in CPUs (1.5 = one and a half). */
  cpus: z.number().positive().optional(),
  /** Memory limit per attempt container: bytes, or `512m`, `4g`. */
  memory: size.optional(),
});

/** USD per million tokens; overrides or adds to the shipped price table (pipeline/gateway/prices.ts). */
const priceSchema = z.strictObject({
  input: z.number().nonnegative(),
  output: z.number().nonnegative(),
  cacheRead: z.number().nonnegative().optional(),
  cacheWrite: z.number().nonnegative().optional(),
  /** Where the figure comes from, for run-logs. */
  source: z.string().min(1).optional(),
});

/** How `report` decides a pass: a total of at least `pass` of max (1: every point), and the k of pass@k. */
export const reportSchema = z.strictObject({
  pass: z.number().gt(0).max(1).default(1),
  k: z.number().int().min(1).max(100).default(3),
});

/** The model gateway of a run. */
export const gatewaySchema = z.strictObject({
  /** How long one request's transient faults (429, 5xx, refused connections) are retried before the attempt stops. */
  retryWindow: timeout.default('5m'),
});

export const configSchema = z.strictObject({
  /** Where benchmark packages live, relative to the config file. */
  benchmarksDir: z.string().min(1).default('benchmarks'),
  /** How many nodes (attempts, mostly) run at once. */
  concurrency: z.number().int().min(1).max(256).optional(),
  /** Overrides the mode implied by runner.yaml (docker when it names an image, lite otherwise). */
  mode: z.enum(['docker', 'lite']).optional(),
  /** Per-attempt harness timeout: `30m`, `90s`, or seconds; at most 596h 31m (what a timer holds). */
  timeout: timeout.default('30m'),
  /** The instruction given to every harness; see DEFAULT_WRAPPER_PROMPT. */
  wrapperPrompt: z.string().min(1).optional(),
  docker: dockerSchema.default({}),
  gateway: gatewaySchema.prefault({}),
  /** Times an attempt stopped by a model-API fault is queued again in the same run (`--retries`). */
  retries: z.number().int().min(0).max(20).default(2),
  /** USD: no attempt starts once the run has spent this, and the gateway refuses calls past it (`--max-cost`). */
  budget: z.number().positive().optional(),
  prices: z.record(z.string().min(1), priceSchema).default({}),
  collect: collectSchema.prefault({}),
  report: reportSchema.prefault({}),
  harnesses: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/), harnessConfigSchema).default({}),
  variants: z.record(z.string().regex(/^[a-z0-9][a-z0-9._-]*$/), variantSchema).default({}),
});

export type UserConfig = z.input<typeof configSchema>;
export type HarnessConfig = z.output<typeof harnessConfigSchema>;
export type VariantConfig = z.output<typeof variantSchema>;
export type DockerConfig = z.output<typeof dockerSchema>;

/** `4g` -> bytes. */
export function parseSize(size: number | string): number {
  if (typeof size === 'number') return size;
  const unit = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30 }[size.slice(-1).toLowerCase()] ?? 1;
  return Math.round(Number.parseFloat(size) * unit);
}

/** A loaded configuration, with paths resolved from the config file's directory. */
export interface ResolvedConfig extends Omit<z.output<typeof configSchema>, 'timeout'> {
  /** The config file, or undefined when running on defaults. */
  file: string | undefined;
  /** The directory relative paths resolve from. */
  root: string;
  benchmarksDir: string;
  concurrency: number;
  timeoutMs: number;
  retryWindowMs: number;
}

/** The milliseconds of a timeout the schema has checked. */
function timeoutMs(value: string | number): number {
  const parsed = parseTimeout(value);
  if ('problem' in parsed) throw new Error(`unchecked timeout ${value}: ${parsed.problem}`);
  return parsed.ms;
}

/** Typed identity for `bench.config.ts`: `export default defineConfig({...})`. */
export function defineConfig(config: UserConfig): UserConfig {
  return config;
}

export const CONFIG_FILES = ['bench.config.ts', 'bench.config.mts', 'bench.config.js', 'bench.config.mjs'];

/** Validates a config object (from a file or defaults) and resolves its paths. */
export function resolveConfig(raw: unknown, file: string | undefined, root: string): ResolvedConfig {
  const shown = file ?? 'config';
  const result = configSchema.safeParse(raw ?? {});
  if (!result.success) {
    // A config module has no source positions to point at: every diagnostic names the file.
    const diagnostics = diagnosticsOf(result.error.issues, () => ({ file: shown }));
    throw new UsageError(`${shown} does not fit the schema`, diagnostics);
  }
  const c = result.data;
  const resolveFromRoot = (arg: string) =>
    arg.startsWith('./') || arg.startsWith('../') ? resolve(root, arg) : arg;
  const harnesses: Record<string, HarnessConfig> = {};
  for (const [name, h] of Object.entries(c.harnesses)) {
    // Relative paths in a command resolve from the config file, since the harness runs in the workspace.
    harnesses[name] = {
      ...h,
      ...(h.command && { command: h.command.map(resolveFromRoot) }),
      ...(h.versionCommand && { versionCommand: h.versionCommand.map(resolveFromRoot) }),
    };
  }
  return {
    ...c,
    harnesses,
    file,
    root,
    benchmarksDir: isAbsolute(c.benchmarksDir) ? c.benchmarksDir : resolve(root, c.benchmarksDir),
    concurrency: c.concurrency ?? Math.max(2, availableParallelism()),
    timeoutMs: timeoutMs(c.timeout),
    retryWindowMs: timeoutMs(c.gateway.retryWindow),
  };
}

/**
 * Finds and loads the config: `--config FILE`, else the nearest bench.config.* from the working
 * directory upwards, else defaults rooted at the working directory. TypeScript is loaded at run
 * time through jiti, imported lazily so commands that need no config stay fast.
 */
export async function loadConfig(explicit: string | undefined, cwd = process.cwd()): Promise<ResolvedConfig> {
  let file: string | undefined;
  if (explicit) {
    file = resolve(cwd, explicit);
    if (!existsSync(file)) throw new UsageError(`--config ${explicit}: no such file`);
  } else {
    for (let dir = cwd; !file; dir = dirname(dir)) {
      file = CONFIG_FILES.map((f) => resolve(dir, f)).find((f) => existsSync(f));
      if (dirname(dir) === dir) break;
    }
  }
  if (!file) return resolveConfig({}, undefined, cwd);
  let raw: unknown;
  try {
    if (/\.m?js$/.test(file)) {
      const { pathToFileURL } = await import('node:url');
      raw = ((await import(pathToFileURL(file).href)) as { default?: unknown }).default;
    } else {
      const { createJiti } = await import('jiti');
      raw = await createJiti(import.meta.url, { moduleCache: false }).import(file, { default: true });
    }
  } catch (error) {
    throw new UsageError(
      `${file}: could not be loaded: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  return resolveConfig(raw, file, dirname(file));
}
