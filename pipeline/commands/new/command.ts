import { mkdir, mkdtemp, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { parse, stringify } from 'yaml';
import { knownHarnesses } from '../../../tasks/harnesses/registry.js';
import { loadConfig } from '../../config.js';
import { errnoCode, UsageError } from '../../errors.js';
import { exists, syncTree } from '../../fs-atomic.js';
import { runnerSchema, SLUG } from '../../manifest.js';
import type { ParsedArgs } from '../options.js';
import type { Shape } from './choices.js';
import { type Ask, gatherShape } from './questions.js';
import { renderScorecard } from './scorecard.js';
import {
  renderBaselineManifest,
  renderBaselineReadme,
  renderBootstrap,
  renderContext,
  renderPrompt,
  renderRunner,
  TODO,
} from './templates.js';
import { CANCELLED, Terminal } from './terminal.js';

/*
 * `new <slug>`: a benchmark package written the way a careful eval designer writes one. It asks
 * the shape of the eval (questions.ts: on a TTY; every answer is also a flag, in options.ts), then
 * writes runner.yaml, the model-visible texts and the evaluator-only ones (templates.ts,
 * scorecard.ts) as templates whose open places say `TODO(author)`. As generated, the package
 * validates without errors; its warnings are `todo-left` at each of those markers, and
 * `dockerfile-missing` on the docker path: a Dockerfile depends on the stack's runtime, so the
 * author writes it.
 */

/** Every file of the package, by its path inside `benchmarks/<slug>/`. */
function renderPackage(s: Shape, scalar: (v: string) => string): Record<string, string> {
  return {
    'runner.yaml': renderRunner(s, scalar),
    'prompt.md': renderPrompt(s),
    'context.md': renderContext(s),
    ...(s.bootstrap && { 'bootstrap.md': renderBootstrap(s) }),
    ...(s.stateMode === 'brownfield' && {
      'baseline/README.md': renderBaselineReadme(),
      'baseline-manifest.md': renderBaselineManifest(s),
    }),
    'scorecard.md': renderScorecard(s),
  };
}

/**
 * Writes the package into a staging directory beside benchmarksDir (so a leftover is never taken
 * for a benchmark), syncs it, and renames it into place: either the whole package appears or
 * nothing does. The target is claimed with an exclusive mkdir first, since a rename would
 * silently replace an empty directory made meanwhile.
 */
async function writePackage(
  benchmarksDir: string,
  slug: string,
  files: Record<string, string>,
): Promise<void> {
  await mkdir(benchmarksDir, { recursive: true });
  const staging = await mkdtemp(join(dirname(benchmarksDir), `.bench-new-${slug}-`));
  try {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(staging, path)), { recursive: true });
      await writeFile(join(staging, path), content, { flag: 'wx' });
    }
    await syncTree(staging);
    const target = join(benchmarksDir, slug);
    try {
      await mkdir(target);
    } catch (error) {
      if (errnoCode(error) === 'EEXIST') throw new UsageError(`new: ${target} already exists`);
      throw error;
    }
    try {
      await rename(staging, target);
    } catch (error) {
      await rmdir(target).catch(() => {});
      throw error;
    }
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** What each file of the package is for, listed once it is written. */
const ROLES: Record<string, string> = {
  'runner.yaml': 'the manifest (evaluator-only)',
  'prompt.md': 'the task (model-visible)',
  'context.md': 'domain data, rules, examples, non-goals (model-visible)',
  'bootstrap.md': 'the starter, or how to run the baseline (model-visible)',
  'baseline/README.md': 'placeholder: the starting project goes in baseline/ (model-visible)',
  'baseline-manifest.md': 'the state contract (evaluator-only)',
  'scorecard.md': 'criteria, guidance, failure rules, traps, CSV format (evaluator-only)',
};

/**
 * `new <slug>`: asks the shape of a benchmark on a TTY (flags answer in scripts, and every question
 * left open takes its recommended answer), then writes the package in one step and says what to
 * do next. Refuses an invalid or existing slug with exit 2.
 */
export async function newCommand({ values, positionals }: ParsedArgs<'new'>): Promise<number> {
  const [slug, ...extra] = positionals;
  if (!slug || extra.length) throw new UsageError('new: usage: bench-pipeline new <slug> [--flags]');
  if (!SLUG.test(slug)) {
    throw new UsageError(
      `new: "${slug}" is not a valid slug: use lower-case letters and digits in words joined by single hyphens (e.g. go-cli-todo)`,
    );
  }
  const config = await loadConfig(values.config);
  const dir = join(config.benchmarksDir, slug);
  const shown = relative(process.cwd(), dir) || dir;
  if (await exists(dir))
    throw new UsageError(`new: ${shown} already exists; pick another slug, or move it away first`);

  const interactive = !values.yes && Boolean(process.stdin.isTTY && process.stdout.isTTY);
  // The terminal opens on the first question no flag answers; with every answer given, none does.
  const tty: { terminal?: Terminal } = {};
  const ask: Ask = interactive
    ? (q) => {
        tty.terminal ??= new Terminal();
        return tty.terminal.ask(q);
      }
    : undefined;
  const say = (line = '') => process.stdout.write(`${line}\n`);
  let shape: Shape;
  try {
    shape = await gatherShape(slug, values, knownHarnesses(config.harnesses), config.root, ask);
    say(`${tty.terminal ? '\n' : ''}${shown}/: ${describe(shape).join('\n  ')}`);
    if (tty.terminal && !(await tty.terminal.confirm(`Create ${shown}/?`))) throw new UsageError(CANCELLED);
  } finally {
    tty.terminal?.close();
  }

  const files = renderPackage(shape, (v) => stringify(v).trimEnd());
  // A guard on the templates: what is written must load as a manifest.
  runnerSchema.parse(parse(files['runner.yaml']!));
  await writePackage(config.benchmarksDir, slug, files);

  const cfg = values.config ? ` --config ${values.config}` : '';
  const first = shape.harnesses[0]!;
  say(`\nCreated ${shown}/:`);
  for (const path of Object.keys(files).sort()) say(`  ${path.padEnd(22)}${ROLES[path] ?? ''}`);
  say('\nNext steps:');
  const steps = [`Fill in every ${TODO}: grep -rn '${TODO}' ${shown}`];
  if (shape.stateMode === 'brownfield')
    steps.push(`Put the starting project in ${shown}/baseline/, in place of its README.md placeholder.`);
  if (shape.image) {
    steps.push(
      `Docker path: write ${shown}/Dockerfile with the stack's runtime (based on the harness image, or with\n     a "runtime" harness mount), then build and tag ${shape.image}:\n     bench-pipeline images build ${slug}${cfg}   (until the Dockerfile exists, validate warns dockerfile-missing)`,
    );
  }
  steps.push(`bench-pipeline validate ${slug}${cfg}`);
  const run = `bench-pipeline run ${slug} --harness ${first} --timeout ${shape.timebox}${cfg}`;
  if (shape.path === 'both') steps.push(`${run}   (docker)\n     ${run} --mode lite   (lite)`);
  else steps.push(run);
  for (const [i, step] of steps.entries()) say(`  ${i + 1}. ${step}`);
  if (shape.path === 'lite') say('\nThe lite path needs no Dockerfile or image.');
  return 0;
}

/** The shape, a line per decision, printed before the package is written. */
function describe(s: Shape): string[] {
  return [
    `${s.displayName} (${s.stateMode})`,
    `task type      ${s.taskType.label}; audience and difficulty: ${s.audience}`,
    `stack          ${s.stack.label}`,
    `artifact       ${s.artifact.label}`,
    `constraints    ${[`timebox ${s.timebox}`, s.network.label, ...s.constraints].join('; ')}`,
    `harnesses      ${s.harnesses.join(', ')}${s.opencodeModel ? ` (opencode: ${s.opencodeModel})` : ''}`,
    `path           ${s.path}${s.image ? `, image ${s.image}` : ''}`,
    `bootstrap.md   ${s.bootstrap ? 'yes, model-visible' : 'no'}`,
  ];
}
