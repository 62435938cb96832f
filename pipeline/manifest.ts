import { readFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { z } from 'zod';
import { parseTimeout } from './duration.js';
import { errnoCode, UsageError } from './errors.js';
import { parseYaml, type YamlSource } from './yaml-source.js';

/** A benchmark slug, which is also its directory name: lower-case letters, digits and hyphens. */
export const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;

/** A path relative to runner.yaml: no NUL byte, which no filesystem allows in a name. */
const relativePath = z
  .string()
  .min(1)
  .refine((p) => !p.includes('\0'), 'contains a NUL byte, which no path can hold');

/** A check's timeout: a duration such as `10m`, or seconds; turned into milliseconds. */
const checkTimeout = z.union([z.number(), z.string()]).transform((value, ctx) => {
  const parsed = parseTimeout(value);
  if ('problem' in parsed) {
    ctx.addIssue({ code: 'custom', message: parsed.problem });
    return z.NEVER;
  }
  return parsed.ms;
});

/**
 * One automatic check of `scoring.checks`: a shell command run in a fresh copy of an attempt's
 * final workspace, with the evaluator-only `files` copied in at the same relative paths. Exit 0
 * gives the criterion its Max, any other exit 0; a last line `SCORE <n>` or `SCORE <n>/<max>`
 * gives partial credit instead.
 */
export const checkSchema = z.strictObject({
  /** The Criterion of a row of scorecard.md's criteria table, exactly as written there. */
  criterion: z.string().min(1),
  /** A shell command (`sh -c`), run with the scoring workspace as its working directory. */
  run: z.string().min(1),
  /** Evaluator-only paths of the package (files or directories), relative to runner.yaml. */
  files: z.array(relativePath).default([]),
  timeout: checkTimeout.default(600_000),
  /** docker: `none` (the default) gives the check's container no network; `open` the engine's default. */
  network: z.enum(['none', 'open']).default('none'),
});

export type Check = z.output<typeof checkSchema>;

/** The schema of `benchmarks/<slug>/runner.yaml`, the single source of truth for its fields. */
export const runnerSchema = z.strictObject({
  /** Must equal the directory slug. */
  name: z.string().regex(SLUG, 'must be a slug: lower-case letters, digits and hyphens'),
  display_name: z.string().min(1).optional(),
  /** greenfield: the workspace starts with just the visible files; brownfield: from a baseline. */
  state_mode: z.enum(['greenfield', 'brownfield']),
  /** The container image for docker mode; in lite mode it is only recorded. */
  image: z.string().min(1).optional(),
  /**
   * docker: what an attempt container may reach. `open`: the engine's default network. `model`:
   * no network at all, only the model gateway's socket mounted into it, so every harness of the
   * benchmark must go through the gateway. Lite mode enforces neither.
   */
  network: z.enum(['open', 'model']).default('open'),
  attempts_default: z.number().int().min(1).max(1000).default(3),
  /** The task statement, relative to runner.yaml; must also be model-visible. */
  prompt_file: relativePath.default('prompt.md'),
  /** The only files and directories an attempt's workspace receives, relative to runner.yaml. */
  model_visible_files: z.array(relativePath).min(1),
  /** Built-in harness names or custom harnesses configured in bench.config.ts. */
  allowed_harnesses: z.array(z.string().min(1)).min(1),
  defaults: z.record(z.string(), z.strictObject({ model: z.string().min(1).optional() })).default({}),
  /** How `score` scores an attempt: its automatic checks, each of a scorecard criterion. */
  scoring: z.strictObject({ checks: z.array(checkSchema).default([]) }).default({ checks: [] }),
});

export type RunnerManifest = z.output<typeof runnerSchema>;

/** A loaded benchmark package. */
export interface Benchmark {
  slug: string;
  /** Absolute path of `benchmarks/<slug>/`. */
  dir: string;
  /** The path of runner.yaml as shown in messages (relative to the working directory). */
  manifestPath: string;
  manifest: RunnerManifest;
  source: YamlSource<RunnerManifest>;
}

export const MANIFEST_FILE = 'runner.yaml';

/** Loads and schema-checks a benchmark's runner.yaml; the name must equal the directory. */
export async function loadBenchmark(dir: string): Promise<Benchmark> {
  const slug = basename(dir);
  const manifestPath = relative(process.cwd(), join(dir, MANIFEST_FILE)) || MANIFEST_FILE;
  let text: string;
  try {
    text = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') throw new UsageError(`${manifestPath}: no runner.yaml in ${dir}`);
    throw error;
  }
  const source = parseYaml(manifestPath, text, runnerSchema);
  if (source.value.name !== slug) {
    throw new UsageError(`${manifestPath} names another benchmark`, [
      source.diagnostic(
        ['name'],
        `"${source.value.name}" must equal the directory name "${slug}"`,
        'name-mismatch',
      ),
    ]);
  }
  return { slug, dir, manifestPath, manifest: source.value, source };
}
