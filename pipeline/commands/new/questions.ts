import { execFile } from 'node:child_process';
import { userInfo } from 'node:os';
import { parseDuration } from '../../duration.js';
import { UsageError } from '../../errors.js';
import type { NEW_OPTIONS, ParsedArgs } from '../options.js';
import {
  ARTIFACTS,
  AUDIENCES,
  BUILT_IN_HARNESSES,
  type Choice,
  DEFAULT_OPENCODE_MODEL,
  type ExecutionPath,
  NETWORKS,
  PATHS,
  type Shape,
  STACKS,
  STATE_MODES,
  type StateMode,
  TASK_TYPES,
  TIMEBOXES,
} from './choices.js';

/*
 * The questions of `new`, in the order a designer decides, and their recommended answers (some
 * follow earlier answers: a bugfix recommends brownfield). Each is answered by its flag, else on
 * the terminal, else by its recommended answer.
 */

/** One decision: its options, the recommended one, and the flag that answers it in scripts. */
export interface Question {
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
export type Ask = ((q: Question) => Promise<string>) | undefined;

/**
 * An answer's choice value: a choice's value or label; on the terminal (`short`) also its number
 * or, where no free answer is taken, a prefix naming one choice (`y`, `b` for brownfield).
 */
export function pick(q: Question, text: string, short: boolean): string | undefined {
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
export async function gatherShape(
  slug: string,
  values: ParsedArgs<'new'>['values'],
  known: string[],
  root: string,
  ask: Ask,
): Promise<Shape> {
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
