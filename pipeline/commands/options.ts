import type { ParseArgsConfig, parseArgs } from 'node:util';

/*
 * The flags of every command, and the `ParsedArgs` type each command takes. cli.ts loads this
 * module at start-up to parse the command line, and loads a command's own module only when that
 * command runs: so this module holds data and types only, and imports nothing at run time.
 */

/** Flags shared by the commands that select attempts (run, plan, graph). */
const SELECTION = {
  harness: { type: 'string', multiple: true },
  model: { type: 'string' },
  variant: { type: 'string', multiple: true },
  attempts: { type: 'string' },
  more: { type: 'string' },
  mode: { type: 'string' },
  rerun: { type: 'string', multiple: true },
  config: { type: 'string' },
  json: { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

/** The flags of `new`: one per question, plus `--yes` to take every recommended answer. */
export const NEW_OPTIONS = {
  'display-name': { type: 'string' },
  'task-type': { type: 'string' },
  audience: { type: 'string' },
  stack: { type: 'string' },
  'state-mode': { type: 'string' },
  artifact: { type: 'string' },
  timebox: { type: 'string' },
  network: { type: 'string' },
  /** Extra constraints for prompt.md, one line each. */
  constraint: { type: 'string', multiple: true },
  /** Repeatable or comma-separated; default claude-code, codex and opencode. */
  harness: { type: 'string', multiple: true },
  'opencode-model': { type: 'string' },
  path: { type: 'string' },
  image: { type: 'string' },
  /** Write bootstrap.md and make it model-visible. */
  bootstrap: { type: 'boolean' },
  /** Take the recommended answer for every question no flag answers, also on a TTY. */
  yes: { type: 'boolean', short: 'y' },
} as const satisfies ParseArgsConfig['options'];

/** Each command's flags, in the order `--help` lists the commands. */
export const OPTIONS = {
  run: {
    ...SELECTION,
    concurrency: { type: 'string' },
    timeout: { type: 'string' },
    'run-id': { type: 'string' },
    clean: { type: 'boolean' },
    'update-image': { type: 'boolean' },
    build: { type: 'boolean' },
    retries: { type: 'string' },
    'max-cost': { type: 'string' },
    score: { type: 'boolean' },
  },
  rerun: {
    'allow-changed-inputs': { type: 'boolean' },
    clean: { type: 'boolean' },
    retries: { type: 'string' },
    config: { type: 'string' },
    json: { type: 'boolean' },
  },
  plan: { ...SELECTION, score: { type: 'boolean' } },
  status: { config: { type: 'string' }, json: { type: 'boolean' } },
  graph: { ...SELECTION, format: { type: 'string' } },
  prepare: { model: { type: 'string' }, harness: { type: 'string' }, config: { type: 'string' } },
  collect: { config: { type: 'string' } },
  validate: { config: { type: 'string' }, json: { type: 'boolean' } },
  images: {
    tag: { type: 'string' },
    base: { type: 'string' },
    clis: { type: 'string' },
    config: { type: 'string' },
  },
  new: { ...NEW_OPTIONS, config: { type: 'string' } },
  cache: { config: { type: 'string' }, json: { type: 'boolean' } },
  score: {
    /** A harness that scores the manual and hybrid rows, one-shot, in a sandbox of its own. */
    judge: { type: 'string' },
    'judge-model': { type: 'string' },
    harness: { type: 'string', multiple: true },
    model: { type: 'string' },
    variant: { type: 'string', multiple: true },
    concurrency: { type: 'string' },
    config: { type: 'string' },
    json: { type: 'boolean' },
  },
  report: {
    harness: { type: 'string', multiple: true },
    model: { type: 'string' },
    variant: { type: 'string', multiple: true },
    format: { type: 'string' },
    out: { type: 'string' },
    /** CSV and JSON: a row per attempt. */
    attempts: { type: 'boolean' },
    'include-stale': { type: 'boolean' },
    config: { type: 'string' },
  },
} as const satisfies Record<string, ParseArgsConfig['options']>;

export type CommandName = keyof typeof OPTIONS;

/** What a command gets: its flags' values, typed from its option table, and its positionals. */
export type ParsedArgs<C extends CommandName> = ReturnType<
  typeof parseArgs<{ options: (typeof OPTIONS)[C]; allowPositionals: true }>
>;
