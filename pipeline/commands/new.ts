import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { createInterface, type Interface } from 'node:readline/promises';
import { errnoCode, UsageError } from '../errors.js';
import type { NEW_OPTIONS, ParsedArgs } from './options.js';

/*
 * `new <slug>`: a benchmark package written the way a careful eval designer writes one. It asks
 * the shape of the eval (on a TTY; every answer is also a flag), then writes runner.yaml, the
 * model-visible texts and the evaluator-only ones as templates whose open places say
 * `TODO(author)`. As generated, the package validates without errors; its warnings are
 * `todo-left` at each of those markers, and `dockerfile-missing` on the docker path: a Dockerfile
 * depends on the stack's runtime, so the author writes it.
 *
 * Its flags are in options.ts, one per question.
 *
 * The questions and the templates share one file, past the usual size, because every template
 * reads the answers: a question added here changes the texts below it.
 */

interface Choice {
  value: string;
  label: string;
}

interface TaskType extends Choice {
  /** The artifact recommended for this kind of task. */
  artifact: string;
  /** Changes to something that exists: brownfield is recommended. */
  brownfield?: boolean;
  /** Has a user interface: the scorecard gets a manual UI criterion. */
  ui?: boolean;
}

const TASK_TYPES: TaskType[] = [
  { value: 'frontend-app', label: 'frontend app', artifact: 'running-app', ui: true },
  { value: 'backend-api', label: 'backend API', artifact: 'api-endpoint' },
  { value: 'cli', label: 'CLI', artifact: 'cli-command' },
  { value: 'library', label: 'library', artifact: 'library-function' },
  { value: 'refactor', label: 'refactor', artifact: 'test-passing-repo', brownfield: true },
  { value: 'bugfix', label: 'bugfix', artifact: 'test-passing-repo', brownfield: true },
  { value: 'data-pipeline', label: 'data pipeline', artifact: 'test-passing-repo' },
  { value: 'mobile-view', label: 'mobile view', artifact: 'running-app', ui: true },
  { value: 'full-stack-slice', label: 'full-stack slice', artifact: 'running-app', ui: true },
];

const AUDIENCES: Choice[] = [
  { value: 'beginner', label: 'beginner: a small, fully specified task' },
  { value: 'intermediate', label: 'intermediate: a few features and their edge cases' },
  { value: 'senior', label: 'senior: design decisions and trade-offs left to the model' },
  { value: 'production-like', label: 'production-like: tests, errors and docs, as a real change' },
];

interface Stack extends Choice {
  /** The command that should pass, suggested until the author confirms it. */
  check?: string;
  /** A well-known starter command; bootstrap.md marks it unverified until the author checks it. */
  bootstrap?: string;
}

const STACKS: Stack[] = [
  { value: 'node', label: 'Node.js 20 or later', check: 'npm test', bootstrap: 'npm init -y' },
  { value: 'python', label: 'Python 3.12 or later', check: 'python -m pytest', bootstrap: 'uv init' },
  { value: 'go', label: 'Go 1.22 or later', check: 'go test ./...', bootstrap: 'go mod init <module>' },
  { value: 'rust', label: 'Rust (stable)', check: 'cargo test', bootstrap: 'cargo init' },
  { value: 'java', label: 'Java 21 with Maven', check: 'mvn -q test' },
  { value: 'dotnet', label: '.NET 8', check: 'dotnet test', bootstrap: 'dotnet new console' },
  { value: 'any', label: 'any: the model chooses and says why' },
];

const STATE_MODES: Choice[] = [
  { value: 'greenfield', label: 'greenfield: the model creates the project in an empty workspace' },
  { value: 'brownfield', label: 'brownfield: the model changes a frozen baseline project' },
];

interface Artifact extends Choice {
  /** The deliverable line in prompt.md. */
  deliverable: string;
}

const ARTIFACTS: Artifact[] = [
  {
    value: 'running-app',
    label: 'running app',
    deliverable: 'An app that starts with one documented command and provides every feature above.',
  },
  {
    value: 'test-passing-repo',
    label: 'test-passing repo',
    deliverable: 'The project, with tests for every requirement, passing on the commands below.',
  },
  {
    value: 'cli-command',
    label: 'CLI command',
    deliverable: 'A command-line program with the usage, output and exit codes `context.md` gives.',
  },
  {
    value: 'api-endpoint',
    label: 'API endpoint',
    deliverable: 'The HTTP endpoints, with the requests, responses and status codes `context.md` gives.',
  },
  {
    value: 'library-function',
    label: 'library function',
    deliverable: 'The exported functions, with the signatures and behaviour `context.md` gives.',
  },
  {
    value: 'migration',
    label: 'migration',
    deliverable: 'The migration, which applies to the data in `context.md` and can be rolled back.',
  },
  {
    value: 'docs-and-code',
    label: 'documentation plus code',
    deliverable: 'The code, and documentation of how to install, use and check it.',
  },
];

const NETWORKS: (Choice & { rule: string })[] = [
  {
    value: 'registry',
    label: "packages from the stack's registry only",
    rule: "Network: only to install packages from the stack's package registry; no other network use.",
  },
  {
    value: 'none',
    label: 'no network, no new packages',
    rule: 'Network: none. Install no packages; use only what the environment provides.',
  },
  { value: 'open', label: 'open', rule: 'Network: allowed, for documentation and packages.' },
];

const PATHS: Choice[] = [
  { value: 'lite', label: 'lite: the harness CLI on the host, in a temp dir; no Dockerfile or image' },
  { value: 'docker', label: 'docker: full container isolation; you write a Dockerfile and build an image' },
  { value: 'both', label: 'both: docker by default, --mode lite for the lite path' },
];

const TIMEBOXES: Choice[] = ['15m', '30m', '60m', '2h'].map((t) => ({ value: t, label: t }));
const BUILT_IN_HARNESSES = ['claude-code', 'codex', 'opencode'];
const DEFAULT_OPENCODE_MODEL = 'openrouter/z-ai/glm-4.7';
const TODO = 'TODO(author)';
const FENCE = '```';

type StateMode = 'greenfield' | 'brownfield';
type ExecutionPath = 'docker' | 'lite' | 'both';

/** Every decision the package is written from. */
interface Shape {
  slug: string;
  displayName: string;
  taskType: TaskType;
  audience: string;
  stack: Stack;
  stateMode: StateMode;
  artifact: Artifact;
  timebox: string;
  network: Choice & { rule: string };
  constraints: string[];
  harnesses: string[];
  opencodeModel: string | undefined;
  path: ExecutionPath;
  image: string | undefined;
  bootstrap: boolean;
}

/** One decision: its options, the recommended one, and the flag that answers it in scripts. */
interface Question {
  flag: keyof typeof NEW_OPTIONS;
  title: string;
  choices: Choice[];
  /** Enter (or no flag, off a TTY) takes it; comma-separated values when `many`. */
  recommended: string;
  /** An answer outside the choices is taken as written. */
  free?: boolean;
  /** Several of the choices, comma-separated. */
  many?: boolean;
  /** A reason to refuse the answer, if any. */
  check?: (answer: string) => string | undefined;
}

/** Asks a question on the terminal; undefined off a TTY, where answers come from flags or defaults. */
type Ask = ((q: Question) => Promise<string>) | undefined;

/**
 * An answer's choice value: a choice's value or label; on the terminal (`short`) also its number
 * or, where no free answer is taken, a prefix naming one choice (`y`, `b` for brownfield).
 */
function pick(q: Question, text: string, short: boolean): string | undefined {
  const one = (t: string) => {
    if (short && /^\d+$/.test(t) && q.choices[Number(t) - 1]) return q.choices[Number(t) - 1]!.value;
    const lower = t.toLowerCase();
    const exact = q.choices.find((c) => c.value.toLowerCase() === lower || c.label.toLowerCase() === lower);
    const prefixed = q.choices.filter((c) => c.value.toLowerCase().startsWith(lower));
    return exact?.value ?? (short && !q.free && prefixed.length === 1 ? prefixed[0]!.value : undefined);
  };
  const t = text.trim();
  if (q.many) {
    const parts = t.split(/[\s,]+/).filter(Boolean);
    const picked = parts.map(one);
    if (!parts.length || picked.some((p) => p === undefined)) return undefined;
    return [...new Set(picked)].join(',');
  }
  return one(t) ?? (q.free && t ? t : undefined);
}

/** The flag's answer, else the terminal's, else the recommended one. */
async function answer(q: Question, given: string | readonly string[] | undefined, ask: Ask): Promise<string> {
  if (given === undefined) return ask ? ask(q) : q.recommended;
  const text = typeof given === 'string' ? given : given.join(',');
  const picked = pick(q, text, false);
  if (picked === undefined) {
    const choose = q.choices.length
      ? `choose from ${q.choices.map((c) => c.value).join(', ')}`
      : 'give a value';
    throw new UsageError(`new: --${q.flag} "${text}": ${choose}`);
  }
  const problem = q.check?.(picked);
  if (problem) throw new UsageError(`new: --${q.flag} "${text}": ${problem}`);
  return picked;
}

const CANCELLED = 'new: cancelled; nothing was created';

/** The interactive side: node:readline on a TTY; each question lists its options, Enter the default. */
class Terminal {
  private readonly rl: Interface;
  /** Lines arrive through the iterator, which buffers them: pasted answers are not lost. */
  private readonly lines: AsyncIterator<string>;

  constructor() {
    this.rl = createInterface({ input: process.stdin, output: process.stdout });
    this.rl.on('SIGINT', () => this.rl.close());
    this.lines = this.rl[Symbol.asyncIterator]();
  }

  private async line(prompt: string): Promise<string> {
    this.rl.setPrompt(prompt);
    this.rl.prompt();
    const next = await this.lines.next();
    if (next.done) throw new UsageError(CANCELLED);
    return String(next.value).trim();
  }

  ask = async (q: Question): Promise<string> => {
    const recommended = q.recommended.split(',').filter(Boolean);
    const out = [`\n${q.title}`];
    for (const [i, c] of q.choices.entries())
      out.push(`  ${i + 1}) ${c.label}${recommended.includes(c.value) ? '  (recommended)' : ''}`);
    const how = q.many
      ? 'numbers or names, separated by commas'
      : q.choices.length
        ? `a number${q.free ? ', a name, or your own' : ' or a name'}`
        : 'type it';
    out.push(`  ${how}; Enter takes the recommended answer`);
    process.stdout.write(`${out.join('\n')}\n`);
    for (;;) {
      const text = await this.line(`[${q.recommended || 'none'}] > `);
      if (!text || (!q.recommended && text.toLowerCase() === 'none')) return q.recommended;
      const picked = pick(q, text, true);
      const problem =
        picked === undefined
          ? `choose ${q.choices.map((_, i) => i + 1).join(', ')}${q.free ? ', or type your own' : ''}`
          : q.check?.(picked);
      if (picked !== undefined && !problem) return picked;
      process.stdout.write(`  ${problem}\n`);
    }
  };

  async confirm(question: string): Promise<boolean> {
    for (;;) {
      const text = (await this.line(`${question} [Y/n] `)).toLowerCase();
      if (['', 'y', 'yes'].includes(text)) return true;
      if (['n', 'no'].includes(text)) return false;
    }
  }

  close(): void {
    this.rl.close();
  }
}

const titleCase = (slug: string) => {
  const words = slug.split('-').join(' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
};
const noSpaces = (a: string) => (/\s/.test(a) ? 'must not contain spaces' : undefined);

/** `ghcr.io/<owner>/<slug>:<today>`: the owner from a GitHub origin remote, else the user name. */
async function defaultImage(slug: string, root: string): Promise<string> {
  const remote = await new Promise<string>((done) =>
    execFile('git', ['remote', 'get-url', 'origin'], { cwd: root, timeout: 2000 }, (error, out) =>
      done(error ? '' : String(out)),
    ),
  );
  let user = '';
  try {
    user = userInfo().username;
  } catch {
    // No passwd entry (some containers): fall through to the placeholder.
  }
  const owner = (/github\.com[:/]([^/\s]+)\//.exec(remote)?.[1] ?? user)
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  const d = new Date();
  const today = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  return `ghcr.io/${owner || 'owner'}/${slug}:${today}`;
}

/** Asks (or reads from flags) every decision, in the order a designer makes them. */
async function gatherShape(
  slug: string,
  values: ParsedArgs<'new'>['values'],
  known: string[],
  root: string,
  ask: Ask,
): Promise<Shape> {
  const { parseDuration } = await import('../duration.js');
  const byValue = <C extends Choice>(list: C[], value: string): C | undefined =>
    list.find((c) => c.value === value);

  const displayName = await answer(
    { flag: 'display-name', title: 'Display name', choices: [], recommended: titleCase(slug), free: true },
    values['display-name'],
    ask,
  );
  const task = await answer(
    { flag: 'task-type', title: 'Task type', choices: TASK_TYPES, recommended: 'cli', free: true },
    values['task-type'],
    ask,
  );
  const taskType = byValue(TASK_TYPES, task) ?? { value: task, label: task, artifact: 'test-passing-repo' };
  const audience = await answer(
    { flag: 'audience', title: 'Audience and difficulty', choices: AUDIENCES, recommended: 'intermediate' },
    values.audience,
    ask,
  );
  const stackAnswer = await answer(
    { flag: 'stack', title: 'Stack', choices: STACKS, recommended: 'node', free: true },
    values.stack,
    ask,
  );
  const stateMode = (await answer(
    {
      flag: 'state-mode',
      title: 'State mode',
      choices: STATE_MODES,
      recommended: taskType.brownfield ? 'brownfield' : 'greenfield',
    },
    values['state-mode'],
    ask,
  )) as StateMode;
  const artifact = await answer(
    {
      flag: 'artifact',
      title: 'Expected artifact',
      choices: ARTIFACTS,
      recommended: taskType.artifact,
      free: true,
    },
    values.artifact,
    ask,
  );
  const timebox = await answer(
    {
      flag: 'timebox',
      title: 'Timebox per attempt',
      choices: TIMEBOXES,
      recommended: '30m',
      free: true,
      check: (a) => (parseDuration(a) ? undefined : 'must be a duration such as 45m or 1h30m'),
    },
    values.timebox,
    ask,
  );
  const network = await answer(
    { flag: 'network', title: 'Network and packages', choices: NETWORKS, recommended: 'registry' },
    values.network,
    ask,
  );
  const constraints =
    values.constraint ??
    (ask
      ? (
          await ask({
            flag: 'constraint',
            title: 'Other constraints for the prompt, separated by ";" (e.g. no new dependencies)',
            choices: [],
            recommended: '',
            free: true,
          })
        )
          .split(';')
          .map((c) => c.trim())
          .filter(Boolean)
      : []);
  const harnesses = (
    await answer(
      {
        flag: 'harness',
        title: 'Harnesses',
        choices: known.map((h) => ({ value: h, label: h })),
        recommended: BUILT_IN_HARNESSES.join(','),
        many: true,
      },
      values.harness,
      ask,
    )
  ).split(',');
  let opencodeModel: string | undefined;
  if (harnesses.includes('opencode')) {
    opencodeModel = await answer(
      {
        flag: 'opencode-model',
        title: 'Default opencode model (an OpenRouter id; opencode has no vendor default)',
        choices: [{ value: DEFAULT_OPENCODE_MODEL, label: DEFAULT_OPENCODE_MODEL }],
        recommended: DEFAULT_OPENCODE_MODEL,
        free: true,
        check: noSpaces,
      },
      values['opencode-model'],
      ask,
    );
  } else if (values['opencode-model'] !== undefined) {
    throw new UsageError('new: --opencode-model: opencode is not among the harnesses');
  }
  const path = (await answer(
    { flag: 'path', title: 'Execution path', choices: PATHS, recommended: values.image ? 'docker' : 'lite' },
    values.path,
    ask,
  )) as ExecutionPath;
  let image: string | undefined;
  if (path !== 'lite') {
    const recommended = values.image ?? (await defaultImage(slug, root));
    image = await answer(
      {
        flag: 'image',
        title: 'Image for the docker path',
        choices: [],
        recommended,
        free: true,
        check: noSpaces,
      },
      values.image,
      ask,
    );
  } else if (values.image !== undefined) {
    throw new UsageError('new: --image is for the docker path: add --path docker or --path both');
  }
  const bootstrapChoices: Choice[] =
    stateMode === 'greenfield'
      ? [
          { value: 'no', label: 'no: the model bootstraps the project, and that is scored' },
          { value: 'yes', label: 'yes: every model gets the same starter; bootstrap is not scored' },
        ]
      : [
          { value: 'no', label: 'no: the prompt and the baseline say enough' },
          { value: 'yes', label: 'yes: how to install, run and check the baseline' },
        ];
  const bootstrap =
    values.bootstrap ??
    (ask
      ? (await ask({
          flag: 'bootstrap',
          title: 'Give the model a bootstrap.md?',
          choices: bootstrapChoices,
          recommended: 'no',
        })) === 'yes'
      : false);
  return {
    slug,
    displayName,
    taskType,
    audience,
    stack: byValue(STACKS, stackAnswer) ?? { value: stackAnswer, label: stackAnswer },
    stateMode,
    artifact: byValue(ARTIFACTS, artifact) ?? {
      value: artifact,
      label: artifact,
      deliverable: `The ${artifact}.`,
    },
    timebox,
    network: byValue(NETWORKS, network)!,
    constraints,
    harnesses,
    opencodeModel,
    path,
    image,
    bootstrap,
  };
}

/** runner.yaml -> model_visible_files, in a fixed order. */
function visibleFiles(s: Shape): string[] {
  return [
    'prompt.md',
    'context.md',
    ...(s.bootstrap ? ['bootstrap.md'] : []),
    ...(s.stateMode === 'brownfield' ? ['baseline'] : []),
  ];
}

function renderRunner(s: Shape, scalar: (v: string) => string): string {
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

function renderPrompt(s: Shape): string {
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

function renderContext(s: Shape): string {
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

function renderBootstrap(s: Shape): string {
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

function renderBaselineReadme(): string {
  return [
    `# ${TODO}: the starting project goes here`,
    '',
    'Replace this file with the project every attempt starts from (with its own README, if it has',
    'one). The contents of this directory become the root of each attempt workspace, next to',
    '`prompt.md` and `context.md`, so it must not hold files of those names.',
    '',
  ].join('\n');
}

function renderBaselineManifest(s: Shape): string {
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

interface Criterion {
  name: string;
  max: number;
  method: 'auto' | 'manual' | 'hybrid';
  evidence: string;
}

function renderScorecard(s: Shape): string {
  const brown = s.stateMode === 'brownfield';
  // The commands that should pass, quoted when the stack suggests them.
  const check = s.stack.check ? `\`${s.stack.check}\`` : 'the build and test commands';
  const criteria: Criterion[] = [
    {
      name: `${s.stack.check ? '' : `${TODO}: `}${check} ${s.stack.check ? 'passes' : 'pass'}`,
      max: 3,
      method: 'auto',
      evidence: `exit code and summary of ${check} in \`<attempt>\``,
    },
    {
      name: `${TODO}: required feature 1 behaves as \`context.md\` says`,
      max: 3,
      method: 'auto',
      evidence: 'output of check A',
    },
    { name: `${TODO}: required feature 2`, max: 2, method: 'auto', evidence: 'output of check B' },
    { name: `${TODO}: errors and edge cases`, max: 2, method: 'auto', evidence: 'output of check C' },
    {
      name: 'Tests cover the requirements',
      max: 2,
      method: 'hybrid',
      evidence: 'names of the new tests; each would fail without the change',
    },
    { name: `Deliverables present (${s.artifact.label})`, max: 1, method: 'auto', evidence: 'file listing' },
    ...(s.taskType.ui
      ? [
          {
            name: 'The UI follows the copy and layout in `context.md`, usable on a small screen',
            max: 2,
            method: 'manual' as const,
            evidence: 'screenshots of the main views at 375px and 1280px wide',
          },
        ]
      : []),
    {
      name: `Constraints kept (${s.network.label}; nothing written outside the workspace)`,
      max: 1,
      method: 'manual',
      evidence: 'file listing; `agent-run.log`',
    },
    ...(brown
      ? [
          {
            name: 'Baseline tests kept, none weakened',
            max: 2,
            method: 'hybrid' as const,
            evidence:
              '`diff -ru <baseline> <attempt>` on the test files; every baseline assertion still present',
          },
          {
            name: "Change is scoped and in the project's style",
            max: 2,
            method: 'manual' as const,
            evidence: '`diff -ru <baseline> <attempt>` (excluding the visible files and the logs)',
          },
        ]
      : [
          { name: 'Code is clear and maintainable', max: 2, method: 'manual' as const, evidence: 'the code' },
          ...(s.bootstrap
            ? []
            : [
                {
                  name: "Project bootstrapped with the stack's official tooling",
                  max: 1,
                  method: 'hybrid' as const,
                  evidence: 'the project files and lockfile; the bootstrap commands in `agent-run.log`',
                },
              ]),
        ]),
  ];
  const total = criteria.reduce((sum, c) => sum + c.max, 0);
  const bootstrapNote = brown
    ? `Bootstrap is not scored: the project exists${s.bootstrap ? '; `bootstrap.md` only says how to install and run it' : ''}.`
    : s.bootstrap
      ? 'Bootstrap is not scored: `bootstrap.md` gives every model the same starter.'
      : 'Bootstrap is scored: creating the project is part of the task (criterion "Project bootstrapped").';
  return [
    `# Scorecard: ${s.slug}`,
    '',
    'Evaluator-only. Never list this file in `model_visible_files`, and never quote it to an attempt.',
    '',
    `${TODO}: replace the example criteria with 8 to 12 of this task's own, each with the evidence that decides it; write the checks they name.`,
    '',
    '## Shape',
    '',
    `- ${s.displayName}: ${s.taskType.label}, ${s.stateMode}; audience and difficulty: ${s.audience}`,
    `- Stack: ${s.stack.label}; expected artifact: ${s.artifact.label}; timebox: ${s.timebox}`,
    `- Harnesses: ${s.harnesses.join(', ')}; execution path: ${s.path}`,
    '',
    `The attempt directory \`benchmarks/${s.slug}/eval-attempts/<model-id>-attempt-<n>/\` holds the final`,
    "workspace, with the tool's `agent-run.log`, `run-log.md` and `run-log.json`. `<attempt>` below is that",
    brown
      ? `directory, \`<baseline>\` is \`benchmarks/${s.slug}/baseline/\`. Score against the baseline (see \`baseline-manifest.md\`), never against another attempt.`
      : 'directory. There is no baseline: score the workspace on its own, never against another attempt.',
    '',
    '| Criterion | Max | Method | Evidence required |',
    '| --------- | --- | ------ | ----------------- |',
    ...criteria.map((c) => `| ${c.name} | ${c.max} | ${c.method} | ${c.evidence} |`),
    '',
    `Total: ${total}.`,
    '',
    '## Checks',
    '',
    'Run each from `<attempt>`.',
    '',
    `- **A**: ${TODO}: the exact commands, and the output they must give.`,
    `- **B**: ${TODO}: ...`,
    `- **C**: ${TODO}: inputs that are not among the examples in \`context.md\`, and the errors.`,
    '',
    '## Guidance',
    '',
    '- **Full**: the evidence matches the expectation exactly.',
    `- **Partial** (about half, rounded down): the behaviour is right but a detail is off. ${TODO}: the typical partial cases.`,
    '- **Zero**: the behaviour is missing or wrong, or the evidence cannot be produced.',
    '- Manual criteria: full when a reviewer would accept the work as is; partial for noise or a',
    '  missing piece; zero for a rewrite, an unasked-for dependency, or a broken layout.',
    '',
    '## Failure rules',
    '',
    `- If ${check} cannot run at all (a build error, a missing module), score 0 on its criterion and`,
    '  on every criterion whose check needs it.',
    ...(s.artifact.value === 'running-app'
      ? ['- If the app does not start with its documented command, score 0 on every auto criterion.']
      : []),
    ...(brown
      ? [
          '- A baseline test deleted, skipped or loosened: 0 on "Baseline tests kept", at most 1 on the first criterion.',
        ]
      : []),
    '- Network use or packages the constraints forbid, or files written outside the workspace: 0 on',
    '  "Constraints kept", and say so in the Notes.',
    `- ${TODO}: hard stops specific to this task.`,
    '',
    '## Shortcut traps',
    '',
    '- Outputs hard-coded for the examples in `context.md`: they pass the examples and fail check C.',
    '- Tests that pass without the change (no assertions, or the unit under test mocked away).',
    ...(brown ? ['- Failing baseline tests deleted or skipped instead of fixed.'] : []),
    '- Claims in the model\'s summary ("all tests pass") are not evidence; run the checks.',
    `- ${TODO}: the wrong but plausible solutions to this task.`,
    '',
    '## What is scored and what is not',
    '',
    `- ${bootstrapNote}`,
    brown
      ? '- Compare against the baseline, as `baseline-manifest.md` describes; derive the patch with `diff -ru <baseline> <attempt>`.'
      : '- No baseline to compare against.',
    "- Speed, cost and the length of the model's summary are not scored here.",
    '',
    '## Output format',
    '',
    'One CSV row per criterion, in the table order, with a header row:',
    '',
    FENCE,
    'Criterion,Score,Max,Notes,Evidence',
    FENCE,
    '',
  ].join('\n');
}

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
  const { syncTree } = await import('../fs-atomic.js');
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
  const { SLUG, runnerSchema } = await import('../manifest.js');
  if (!SLUG.test(slug)) {
    throw new UsageError(
      `new: "${slug}" is not a valid slug: use lower-case letters and digits in words joined by single hyphens (e.g. go-cli-todo)`,
    );
  }
  const { loadConfig } = await import('../config.js');
  const config = await loadConfig(values.config);
  const dir = join(config.benchmarksDir, slug);
  const shown = relative(process.cwd(), dir) || dir;
  const { exists } = await import('../fs-atomic.js');
  if (await exists(dir))
    throw new UsageError(`new: ${shown} already exists; pick another slug, or move it away first`);

  const { knownHarnesses } = await import('../../tasks/harnesses/registry.js');
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

  const { parse, stringify } = await import('yaml');
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
