#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { type CommandName, OPTIONS, type ParsedArgs } from './commands/options.js';
import { messageOf, UsageError } from './errors.js';

// What a command allocates in bulk lives to its end (the plan of every attempt, the attempt
// index): a young generation that doubles as it fills only copies it once more on its way to the
// old one, and raises the peak memory by a sixth at 10,000 attempts. It stays at its first size.
setFlagsFromString('--semi-space-growth-factor=1');

/**
 * What each command does, one line for `--help`. Its flags are in commands/options.ts; its code
 * loads only when it runs, so `--help` and each command load nothing of the others.
 */
const SUMMARIES = {
  run: 'make the selected attempts complete, running only what is missing',
  rerun: 'repeat an attempt as a new one: same image digest, harness, model and options',
  plan: 'show each node: done, missing, stale or failed, and why (no side effects)',
  status: 'attempts per benchmark and model, running invocations, recent errors',
  graph: 'print the build graph',
  prepare: 'a workspace for a manual harness (an IDE or desktop agent), with only the visible files',
  collect: 'collect a prepared workspace as the next attempt of its benchmark and model',
  validate: 'check benchmark packages: each finding located, with a stable code and severity',
  images: 'images build: the harness image from images/, and benchmark images from their Dockerfiles',
  new: 'create a benchmark package: asks on a TTY, flags and recommended defaults otherwise',
  cache: 'cache ls | cache prune: seed templates and node records',
  score: 'score the complete attempts into eval-results/, running the checks only where missing or stale',
  report: 'compare models and variants from what is on disk: scores with intervals, outcomes, cost',
} as const satisfies Record<CommandName, string>;

/** One line per command, the summaries aligned two spaces past the longest name. */
function commandList(): string {
  const width = Math.max(...Object.keys(SUMMARIES).map((name) => name.length)) + 2;
  return Object.entries(SUMMARIES)
    .map(([name, summary]) => `  ${name.padEnd(width)}${summary}`)
    .join('\n');
}

const USAGE = `bench-pipeline: run AI coding agents as isolated one-shot attempts against benchmark packages

usage:
  bench-pipeline run <benchmark...> [--harness H]... [--model M] [--attempts N] [--more K]
                 [--mode docker|lite] [--concurrency C] [--timeout 30m] [--run-id ID]
                 [--rerun failed|timed-out|stale] [--variant V]... [--update-image] [--build]
                 [--clean] [--score] [--config FILE] [--json]
  bench-pipeline plan <same selection> [--score] [--json]
  bench-pipeline rerun <attempt-dir> [--allow-changed-inputs] [--clean] [--json]
  bench-pipeline status [benchmark...] [--json]
  bench-pipeline graph <same selection> [--format mermaid|dot|json]
  bench-pipeline validate [benchmark...] [--json]
  bench-pipeline prepare <benchmark> --model M [--harness NAME]   then   bench-pipeline collect <workspace>
  bench-pipeline images build [benchmark...] [--tag T] [--base IMAGE] [--clis "pkg@version ..."]
  bench-pipeline cache ls|prune [--json]
  bench-pipeline score [benchmark...] [--harness H]... [--model M] [--variant V]... [--concurrency C]
                 [--judge H [--judge-model M]] [--json]
  bench-pipeline report [benchmark...] [--harness H]... [--model M] [--variant V]...
                 [--format table|csv|json|html] [--out FILE] [--attempts] [--include-stale]
  bench-pipeline new <slug> [--display-name N] [--task-type T] [--audience A] [--stack S]
                 [--state-mode greenfield|brownfield] [--artifact A] [--timebox 30m]
                 [--network registry|none|open] [--constraint C]... [--harness H]...
                 [--opencode-model M] [--path lite|docker|both] [--image REF] [--bootstrap] [--yes]

commands:
${commandList()}

exit codes: 0 everything asked for is complete; 1 an attempt failed or an infrastructure error;
2 a usage or validation error.
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command ? 0 : 2;
  }
  if (command === '--version' || command === '-v') {
    const { createRequire } = await import('node:module');
    process.stdout.write(
      `${(createRequire(import.meta.url)('../../package.json') as { version: string }).version}\n`,
    );
    return 0;
  }
  if (!Object.hasOwn(OPTIONS, command))
    throw new UsageError(`unknown command "${command}"; see bench-pipeline --help`);
  const name = command as CommandName;
  let args: ParsedArgs<typeof name>;
  try {
    args = parseArgs({ args: rest, options: OPTIONS[name], allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${name}: ${messageOf(error)}`);
  }
  switch (name) {
    case 'run':
      return (await import('./commands/run.js')).runCommand(args as ParsedArgs<'run'>);
    case 'rerun':
      return (await import('./commands/rerun.js')).rerunCommand(args as ParsedArgs<'rerun'>);
    case 'plan':
      return (await import('./commands/plan.js')).planCommand(args as ParsedArgs<'plan'>);
    case 'status':
      return (await import('./commands/status.js')).statusCommand(args as ParsedArgs<'status'>);
    case 'graph':
      return (await import('./commands/graph.js')).graphCommand(args as ParsedArgs<'graph'>);
    case 'prepare':
      return (await import('./commands/manual.js')).prepareCommand(args as ParsedArgs<'prepare'>);
    case 'collect':
      return (await import('./commands/manual.js')).collectCommand(args as ParsedArgs<'collect'>);
    case 'validate':
      return (await import('./commands/validate.js')).validateCommand(args as ParsedArgs<'validate'>);
    case 'images':
      return (await import('./commands/images.js')).imagesCommand(args as ParsedArgs<'images'>);
    case 'cache':
      return (await import('./commands/cache.js')).cacheCommand(args as ParsedArgs<'cache'>);
    case 'score':
      return (await import('./commands/score.js')).scoreCommand(args as ParsedArgs<'score'>);
    case 'report':
      return (await import('./commands/report.js')).reportCommand(args as ParsedArgs<'report'>);
    case 'new':
      return (await import('./commands/new/command.js')).newCommand(args as ParsedArgs<'new'>);
  }
}

// A reader that goes away (`| head`) must not crash a batch: what it no longer reads is dropped.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE' && error.code !== 'ERR_STREAM_DESTROYED') throw error;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const exitCode = typeof error === 'object' && error && 'exitCode' in error ? Number(error.exitCode) : 1;
    const known = exitCode === 1 || exitCode === 2;
    process.stderr.write(
      `bench-pipeline: ${known ? messageOf(error) : ((error as Error)?.stack ?? String(error))}\n`,
    );
    process.exitCode = known ? exitCode : 1;
  },
);
