import type { Shape } from './choices.js';

/*
 * The files of a package but the scorecard, written from its Shape: runner.yaml, the model-visible
 * texts and the baseline's contract. Every place the author must fill in says TODO(author), which
 * validate reports as `todo-left`.
 */

/** Marks each place the author must fill in; validate warns `todo-left` at every one. */
export const TODO = 'TODO(author)';
/** A Markdown code fence, kept out of the template literals. */
export const FENCE = '```';

/** runner.yaml -> model_visible_files, in a fixed order. */
function visibleFiles(s: Shape): string[] {
  return [
    'prompt.md',
    'context.md',
    ...(s.bootstrap ? ['bootstrap.md'] : []),
    ...(s.stateMode === 'brownfield' ? ['baseline'] : []),
  ];
}

/** runner.yaml, the manifest; `scalar` writes a YAML scalar (quoted where it must be). */
export function renderRunner(s: Shape, scalar: (v: string) => string): string {
  const imageLines =
    s.path === 'lite'
      ? ['# No image: the lite path only (the harness CLI runs on the host, in a temp dir).']
      : [
          `# Built from Dockerfile (bench-pipeline images build ${s.slug}).${s.path === 'both' ? ' Docker is the default mode; --mode lite runs the lite path.' : ''}`,
          `image: ${scalar(s.image!)}`,
        ];
  return [
    `name: ${s.slug}`,
    `display_name: ${scalar(s.displayName)}`,
    `state_mode: ${s.stateMode}`,
    ...imageLines,
    'attempts_default: 3',
    'prompt_file: prompt.md',
    'model_visible_files:',
    ...visibleFiles(s).map((f) => `  - ${f}`),
    'allowed_harnesses:',
    ...s.harnesses.map((h) => `  - ${scalar(h)}`),
    ...(s.opencodeModel ? ['defaults:', '  opencode:', `    model: ${scalar(s.opencodeModel)}`] : []),
    '',
  ].join('\n');
}

const checkCommand = (s: Shape) => s.stack.check ?? `${TODO}: the build and test commands`;

/** prompt.md: the task, its deliverables, the commands that should pass and the constraints. */
export function renderPrompt(s: Shape): string {
  const project =
    s.stack.value === 'any' ? 'project in it, in a stack of your choice' : `${s.stack.label} project in it`;
  const start =
    s.stateMode === 'greenfield'
      ? s.bootstrap
        ? `You start in an empty directory. Create a new ${project}, set up as \`bootstrap.md\` describes.`
        : `You start in an empty directory. Create a new ${project}, from scratch: choosing and running its bootstrap (generator, package manager, layout) is part of the task.`
      : `You start in an existing project: its files are in this directory. Modify this project; do not start a new one.${s.bootstrap ? ' `bootstrap.md` says how to install, run and check it.' : ''}`;
  return [
    `# Task: ${s.displayName}`,
    '',
    `${TODO}: one paragraph: what to build${s.stateMode === 'brownfield' ? ' or change, from the project as it is to what it must become,' : ''} and for whom (${s.taskType.label}; audience and difficulty: ${s.audience}).`,
    '',
    start,
    '`context.md` holds the domain data, examples and rules to follow.',
    '',
    '## Requirements',
    '',
    `- ${TODO}: each required feature, precise enough to check: inputs, outputs, errors, edge cases.`,
    `- ${TODO}: ...`,
    '',
    '## Deliverables',
    '',
    `- ${s.artifact.deliverable}`,
    `- ${TODO}: the files or entry points expected, and tests for the requirements above.`,
    '',
    '## Commands that should pass',
    '',
    FENCE,
    checkCommand(s),
    FENCE,
    '',
    s.stack.check ? `${TODO}: confirm these commands, or replace them.` : '',
    '',
    '## Constraints',
    '',
    s.stack.value === 'any'
      ? '- Stack: your choice; say which and why when you finish.'
      : `- Stack: ${s.stack.label}.`,
    `- ${s.network.rule}`,
    ...(s.stateMode === 'brownfield'
      ? ['- Keep the existing tests; you may add to them, but do not remove or weaken any.']
      : []),
    ...s.constraints.map((c) => `- ${c}`),
    `- Timebox: about ${s.timebox}. This is a one-shot attempt: nobody answers questions while you work.`,
    '- Write every file inside this directory.',
    '- Do not ask follow-up questions; make reasonable decisions, finish the task, and say what you did.',
    '',
  ]
    .join('\n')
    .replace(/\n{3,}/g, '\n\n');
}

/** context.md: the domain data, rules, examples and non-goals, all left to the author. */
export function renderContext(s: Shape): string {
  return [
    `# Context: ${s.displayName}`,
    '',
    `${TODO}: everything the model may use while building, and nothing about how attempts are judged.`,
    '',
    '## Domain data',
    '',
    `${TODO}: the data, schemas, copy or URLs the task works with.`,
    '',
    '## Rules',
    '',
    `- ${TODO}: each business rule the result must follow, stated so it can be checked.`,
    '',
    '## Examples',
    '',
    `${TODO}: sample inputs and the exact outputs they give.`,
    '',
    FENCE,
    `${TODO}: an input, and the output it gives`,
    FENCE,
    '',
    '## Non-goals',
    '',
    `- ${TODO}: what is out of scope (extra features, deployment, packaging).`,
    '',
  ].join('\n');
}

/** bootstrap.md: the starter on greenfield, how to install and run the baseline on brownfield. */
export function renderBootstrap(s: Shape): string {
  const check = checkCommand(s);
  if (s.stateMode === 'brownfield') {
    return [
      '# Bootstrap: the provided project',
      '',
      `Stack: ${s.stack.label}. ${TODO}: exact versions.`,
      '',
      '## Prerequisites',
      '',
      `${TODO}: runtimes and package manager, with versions.`,
      '',
      '## Install',
      '',
      FENCE,
      `${TODO}: the install command, or "none"`,
      FENCE,
      '',
      '## Run and check',
      '',
      FENCE,
      check,
      FENCE,
      '',
      `${TODO}: what the untouched project gives on these commands.`,
      '',
    ].join('\n');
  }
  return [
    '# Bootstrap',
    '',
    `Source confidence: unverified fallback. ${TODO}: check the command below against the official documentation, give its source, then drop this line.`,
    '',
    '## Stack',
    '',
    `${s.stack.label}. ${TODO}: exact versions.`,
    '',
    '## Prerequisites',
    '',
    `${TODO}: runtimes and package manager, with versions.`,
    '',
    '## Official bootstrap command',
    '',
    FENCE,
    s.stack.bootstrap ?? `${TODO}: the official generator or starter command`,
    FENCE,
    '',
    `Source: ${TODO}: the URL of the official documentation or starter template.`,
    '',
    '## Check after bootstrap',
    '',
    FENCE,
    check,
    FENCE,
    '',
    '## Allowed changes to the starter',
    '',
    `${TODO}: what may change in the generated files (for example: anything, keeping its layout).`,
    '',
  ].join('\n');
}

/** baseline/README.md: the placeholder the starting project replaces. */
export function renderBaselineReadme(): string {
  return [
    `# ${TODO}: the starting project goes here`,
    '',
    'Replace this file with the project every attempt starts from (with its own README, if it has',
    'one). The contents of this directory become the root of each attempt workspace, next to',
    '`prompt.md` and `context.md`, so it must not hold files of those names.',
    '',
  ].join('\n');
}

/** baseline-manifest.md: the state contract of a brownfield package, evaluator-only. */
export function renderBaselineManifest(s: Shape): string {
  const at = `benchmarks/${s.slug}`;
  const check = s.stack.check ?? `${TODO}: the check command`;
  return [
    `# Baseline manifest: ${s.slug}`,
    '',
    'Evaluator-only, like `scorecard.md` and `runner.yaml`: never visible to an attempt.',
    '',
    '## State mode',
    '',
    `brownfield: each attempt modifies an existing project. ${TODO}: name it, its version and its state (what works, what is missing or broken).`,
    '',
    '## Baseline source',
    '',
    `\`${at}/baseline/\`, a local directory frozen with this benchmark. ${TODO}: put the starting project there in place of the placeholder \`README.md\` (copied from an archive, a git URL and ref, or a generated scaffold: say which), then list its files:`,
    '',
    '| path | holds |',
    '| ---- | ----- |',
    `| ${TODO} | |`,
    '',
    'Any change to these files changes the seed key, so every earlier attempt shows as stale; keep the',
    'baseline frozen once attempts exist.',
    '',
    '## Files visible to implementation models',
    '',
    'Exactly `runner.yaml -> model_visible_files`:',
    '',
    ...visibleFiles(s).map((f) => `- \`${f}\``),
    '',
    'The contents of `baseline` become the workspace root, next to the other visible files; the',
    'baseline holds no `prompt.md` or `context.md` of its own.',
    '',
    '## Files forbidden to implementation models',
    '',
    '- `scorecard.md`',
    '- `runner.yaml`',
    '- `baseline-manifest.md` (this file)',
    ...(s.path === 'lite' ? [] : ['- `Dockerfile` (it builds the image, not the workspace)']),
    '- `eval-attempts/` and `eval-results/`',
    `- \`.pipeline/\` and anything outside \`${at}/\``,
    '',
    '## Reset procedure',
    '',
    'The runner builds every attempt workspace fresh: an empty temp directory, then the visible files',
    'and a copy of the files under `baseline/`. No state carries over from one attempt to another; an',
    "attempt's edits never reach `baseline/`. By hand, the same is:",
    '',
    FENCE,
    'ws=$(mktemp -d)',
    `cp ${visibleFiles(s)
      .filter((f) => f !== 'baseline')
      .map((f) => `${at}/${f}`)
      .join(' ')} "$ws"/`,
    `cp -R ${at}/baseline/. "$ws"/`,
    `(cd "$ws" && ${check})   # ${TODO}: what the untouched baseline gives`,
    FENCE,
    '',
    '## Final artifact expectation',
    '',
    'A full copy of the final workspace, in `eval-attempts/<model-id>-attempt-<n>/`, next to the run',
    `logs. The evaluator derives the patch with \`diff -ru ${at}/baseline <attempt>\` (ignoring the`,
    'visible files and the logs); the model does not have to produce one.',
    '',
  ].join('\n');
}
