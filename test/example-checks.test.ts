import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { type Check, runnerSchema } from '../pipeline/manifest.js';
import { newAttemptTag } from '../pipeline/processes.js';
import { Redactor } from '../pipeline/redact.js';
import { parseScorecard } from '../pipeline/scorecard.js';
import { RESERVED } from '../tasks/collect.js';
import { runCheck as runScoreCheck } from '../tasks/run-check.js';
import { checkScore } from '../tasks/score-sheet.js';
import { CLI, REPO, relativeFiles } from './helpers/rig.js';

// The scoring checks of the two shipped examples (runner.yaml's scoring.checks), each run by
// score's own runner (runCheck) in a fresh copy of a workspace without the tool's files, with the
// check's files copied in, and scored by its rule (checkScore). The workspaces are made here, so
// that wrong ones can be scored too: the demo attempts score what the demo agent deserves; wrong
// workspaces score lower.

const SLUGS = ['fizzbuzz-cli', 'todo-cli-bugfix'] as const;
type Slug = (typeof SLUGS)[number];

interface Outcome {
  criterion: string;
  score: number;
  max: number;
  exit: number | null;
  last: string;
  output: string;
}

/** A check's criterion, with the Max that scorecard.md gives it. */
interface Scored extends Check {
  max: number;
}

let root = '';
const checks = {} as Record<Slug, Scored[]>;
const benchDir = (slug: Slug) => join(root, 'benchmarks', slug);
const attemptDir = (slug: Slug) => join(benchDir(slug), 'eval-attempts/demo-default-attempt-1');

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'bp-example-checks-'));
  for (const slug of SLUGS) {
    await cp(join(REPO, 'benchmarks', slug), benchDir(slug), {
      recursive: true,
      filter: (src) => !/eval-attempts|eval-results|\.pipeline/.test(src),
    });
    const manifest = runnerSchema.parse(parse(await readFile(join(benchDir(slug), 'runner.yaml'), 'utf8')));
    const scorecard = parseScorecard(
      await readFile(join(benchDir(slug), 'scorecard.md'), 'utf8'),
      'scorecard.md',
    );
    checks[slug] = manifest.scoring.checks.map((c) => ({
      ...c,
      max: scorecard.criteria.find((k) => k.name === c.criterion)?.max ?? Number.NaN,
    }));
  }
  await cp(join(REPO, 'tasks/harnesses/demo-agent.mjs'), join(root, 'agents/demo-agent.mjs'));
  await writeFile(
    join(root, 'bench.config.mjs'),
    `export default {
  harnesses: {
    demo: {
      command: ['node', './agents/demo-agent.mjs'],
      versionCommand: ['node', './agents/demo-agent.mjs', '--version'],
    },
  },
};
`,
  );
  // The README's first command, one attempt each.
  const r = spawnSync(
    process.execPath,
    [CLI, 'run', ...SLUGS, '--harness', 'demo', '--attempts', '1', '--clean', '--config', 'bench.config.mjs'],
    { cwd: root, encoding: 'utf8', env: { ...process.env, BENCH_PIPELINE_CACHE_DIR: join(root, '.cache') } },
  );
  expect(r.status, r.stderr + r.stdout).toBe(0);
});

afterAll(async () => {
  if (root && !process.env.KEEP_TEST_DIRS) await rm(root, { recursive: true, force: true });
});

/** Checks running at once, across tests: each starts processes of its own. */
const SLOTS = Math.min(6, availableParallelism() + 1);
let busy = 0;
const waiting: (() => void)[] = [];
async function inSlot<T>(work: () => Promise<T>): Promise<T> {
  if (busy < SLOTS) busy++;
  else await new Promise<void>((go) => waiting.push(go));
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    if (next) next();
    else busy--;
  }
}

/** Runs one check on a copy of `workspace` with score's own runner and scoring rule. */
async function runCheck(slug: Slug, workspace: string, check: Scored): Promise<Outcome> {
  const dir = await mkdtemp(join(tmpdir(), 'bp-check-'));
  try {
    const copy = join(dir, 'workspace');
    await cp(workspace, copy, {
      recursive: true,
      filter: (src) => !(dirname(src) === workspace && RESERVED.includes(basename(src))),
    });
    for (const file of check.files) {
      await cp(join(benchDir(slug), file), join(copy, file), { recursive: true });
    }
    const log = join(dir, 'check.log');
    const ran = await runScoreCheck({
      run: check.run,
      workspace: copy,
      timeoutMs: check.timeout,
      network: check.network,
      logPath: log,
      redactor: new Redactor([]),
      signal: new AbortController().signal,
      tag: newAttemptTag(),
    });
    const { score } = checkScore(ran, check.max, `${check.timeout} ms`);
    const output = await readFile(log, 'utf8');
    return {
      criterion: check.criterion,
      score,
      max: check.max,
      exit: ran.exitCode,
      last: ran.lastLine,
      output,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Runs the checks of `slug` (those whose criterion `only` names, or all) on `workspace`. */
async function score(slug: Slug, workspace: string, only?: string[]): Promise<Record<string, Outcome>> {
  const selected = checks[slug].filter((c) => !only || only.includes(c.criterion));
  const outcomes = await Promise.all(selected.map((c) => inSlot(() => runCheck(slug, workspace, c))));
  return Object.fromEntries(outcomes.map((o) => [o.criterion, o]));
}

/** Scores by criterion, for comparing with the expected ones; a failed expectation shows the evidence. */
function expectScores(results: Record<string, Outcome>, expected: Record<string, number>) {
  for (const [criterion, want] of Object.entries(expected)) {
    const got = results[criterion];
    expect(got, `no check ran for ${criterion}`).toBeDefined();
    expect(got!.score, `${criterion}:\n${got!.output}`).toBe(want);
    // Full marks and only full marks exit 0, and the score line is always the last.
    expect(got!.exit === 0, `${criterion}: exit ${got!.exit}`).toBe(want === got!.max);
    expect(got!.last).toMatch(/^SCORE \d+\/\d+$/);
  }
}

const total = (results: Record<string, Outcome>) => Object.values(results).reduce((s, r) => s + r.score, 0);

/** A copy of `from` with exact text edits (each must match once), for a workspace that is wrong on purpose. */
async function variant(from: string, edits: Record<string, [string, string][]>): Promise<string> {
  const dir = await mkdtemp(join(root, 'variant-'));
  await cp(from, dir, { recursive: true });
  for (const [file, changes] of Object.entries(edits)) {
    let text = existsSync(join(dir, file)) ? await readFile(join(dir, file), 'utf8') : '';
    for (const [before, after] of changes) {
      expect(text.split(before).length, `${file} holds ${JSON.stringify(before)} once`).toBe(2);
      text = text.replace(before, () => after);
    }
    await mkdir(dirname(join(dir, file)), { recursive: true });
    await writeFile(join(dir, file), text);
  }
  return dir;
}

describe("the examples' scoring checks", () => {
  it('cover each auto and hybrid criterion of the scorecard once, no manual one, with evaluator-only files', async () => {
    for (const slug of SLUGS) {
      const text = await readFile(join(REPO, 'benchmarks', slug, 'scorecard.md'), 'utf8');
      const automatic = parseScorecard(text, 'scorecard.md')
        .criteria.filter((c) => c.method !== 'manual')
        .map((c) => c.name);
      expect(checks[slug].map((c) => c.criterion).sort()).toEqual([...automatic].sort());
      const manifest = runnerSchema.parse(
        parse(await readFile(join(REPO, 'benchmarks', slug, 'runner.yaml'), 'utf8')),
      );
      for (const check of checks[slug]) {
        expect(check.files.length, check.criterion).toBeGreaterThan(0);
        for (const file of check.files) {
          expect(manifest.model_visible_files.map((f) => f.replace(/\/$/, ''))).not.toContain(
            file.replace(/\/$/, ''),
          );
          expect(existsSync(join(REPO, 'benchmarks', slug, file)), file).toBe(true);
        }
      }
    }
  });

  it("todo-cli-bugfix's frozen copy of the baseline is the baseline, file for file", async () => {
    const bench = join(REPO, 'benchmarks/todo-cli-bugfix');
    const [baseline, copy] = [join(bench, 'baseline'), join(bench, 'hidden-tests/baseline')];
    const files = await relativeFiles(baseline);
    expect(await relativeFiles(copy)).toEqual(files);
    for (const file of files) {
      expect(await readFile(join(copy, file), 'utf8'), file).toBe(
        await readFile(join(baseline, file), 'utf8'),
      );
    }
  });
});

// Concurrent: the checks share SLOTS, so the machine stays busy and no more.
describe.concurrent('fizzbuzz-cli checks', () => {
  const slug = 'fizzbuzz-cli';
  const C = {
    lines: '`node fizzbuzz.mjs 15` prints the 15 correct lines',
    defaultN: 'Default N is 100',
    invalid: 'Invalid N exits 2 with a usage line on stderr',
    exported: '`fizzbuzz(n)` is exported and returns strings',
    tests: '`node --test` passes and tests the rules for 3, 5 and 15',
  };

  it('score the demo attempt 9 of 10: its only slip is exit 1 for an invalid N', async () => {
    const results = await score(slug, attemptDir(slug));
    expectScores(results, { [C.lines]: 3, [C.defaultN]: 1, [C.invalid]: 1, [C.exported]: 2, [C.tests]: 2 });
    expect(results[C.invalid]!.output).toContain('node fizzbuzz.mjs "x": exit 1');
    expect(results[C.tests]!.output).toContain('rule for 5 broken (multiples of 5 only print the number)');
    // Fixed, it scores full marks.
    const fixed = await variant(attemptDir(slug), {
      'fizzbuzz.mjs': [['process.exit(1)', 'process.exit(2)']],
    });
    expect(total(await score(slug, fixed))).toBe(10);
  });

  it('score 0 on an empty workspace and on a fizzbuzz.mjs that does not load (the failure rule)', async () => {
    const empty = await mkdtemp(join(root, 'empty-'));
    for (const f of ['prompt.md', 'context.md']) await cp(join(benchDir(slug), f), join(empty, f));
    const broken = await variant(attemptDir(slug), {
      'fizzbuzz.mjs': [['export function', 'export functio']],
    });
    for (const workspace of [empty, broken]) {
      const results = await score(slug, workspace);
      expectScores(results, { [C.lines]: 0, [C.defaultN]: 0, [C.invalid]: 0, [C.exported]: 0, [C.tests]: 0 });
    }
  });

  it('give partial credit where the scorecard does', async () => {
    const demo = attemptDir(slug);
    const value =
      "return k % 15 === 0 ? 'FizzBuzz' : k % 3 === 0 ? 'Fizz' : k % 5 === 0 ? 'Buzz' : String(k);";
    const [offByOne, numbers, hardCoded, untested, wrongRule] = await Promise.all([
      // Counts from 0: off by one.
      variant(demo, { 'fizzbuzz.mjs': [['const k = i + 1;', 'const k = i;']] }),
      // Numbers, not strings: the CLI prints the same, the function does not return strings.
      variant(demo, { 'fizzbuzz.mjs': [[value, value.replace(': String(k)', ': k')]] }),
      // A list hard-coded to 100 values.
      variant(demo, {
        'fizzbuzz.mjs': [
          [
            'export function fizzbuzz(n) {',
            'const LIST = fizzbuzzAll(100);\nexport function fizzbuzz(n) {\n  return LIST.slice(0, n);\n}\nfunction fizzbuzzAll(n) {',
          ],
        ],
      }),
      // Tests that never look at Buzz.
      variant(demo, { 'fizzbuzz.test.mjs': [["  assert.equal(fizzbuzz(15)[4], 'Buzz');\n", '']] }),
      // 15 prints Fizz: wrong output, and the attempt's own test fails.
      variant(demo, {
        'fizzbuzz.mjs': [[value, "return k % 3 === 0 ? 'Fizz' : k % 5 === 0 ? 'Buzz' : String(k);"]],
      }),
    ]);
    expectScores(await score(slug, offByOne, [C.lines, C.defaultN]), { [C.lines]: 1, [C.defaultN]: 1 });
    expectScores(await score(slug, numbers, [C.lines, C.exported]), { [C.lines]: 3, [C.exported]: 1 });
    expectScores(await score(slug, hardCoded, [C.lines, C.defaultN, C.exported]), {
      [C.lines]: 3,
      [C.defaultN]: 1,
      [C.exported]: 1,
    });
    const weak = await score(slug, untested, [C.tests]);
    expectScores(weak, { [C.tests]: 1 });
    expect(weak[C.tests]!.output).toContain('does not test the rule for 5');
    expectScores(await score(slug, wrongRule, [C.lines, C.exported, C.tests]), {
      [C.lines]: 0,
      [C.exported]: 0,
      [C.tests]: 0,
    });
  });
});

describe.concurrent('todo-cli-bugfix checks', () => {
  const slug = 'todo-cli-bugfix';
  const C = {
    a: 'Test suite passes',
    b: 'Baseline tests kept, none weakened',
    c: 'Duplicate-id bug fixed through the CLI',
    dAdd: 'Id rule holds in `addTodo` itself, edge cases included',
    e: 'Regression test catches the bug: fails with it put back, passes on the attempt',
    dClear: '`clearDone(todos)` exported, correct and pure',
    f: '`todo clear` prints the three messages and keeps open todos',
    h: 'Tests added for `clearDone` and `todo clear`',
    g: 'Existing behaviour and file format unchanged',
  };
  const LAST_ID = 'return todos.length === 0 ? 1 : todos.at(-1).id + 1;';

  it('score the demo attempt 18 of 19: its new ids come from the last todo, not the highest', async () => {
    const results = await score(slug, attemptDir(slug));
    expectScores(results, {
      [C.a]: 3,
      [C.b]: 2,
      [C.c]: 3,
      [C.dAdd]: 1,
      [C.e]: 2,
      [C.dClear]: 2,
      [C.f]: 2,
      [C.h]: 1,
      [C.g]: 2,
    });
    expect(results[C.dAdd]!.output).toContain("addTodo([t(5), t(2)], 'x').todo.id -> 3; expected 6  WRONG");
    expect(results[C.e]!.output).toContain(
      'caught by: test/todos.test.mjs: addTodo ids > never reuses an id still in the list after a removal',
    );
    // With the highest id, it scores full marks.
    const fixed = await variant(attemptDir(slug), {
      'src/todos.mjs': [[LAST_ID, 'return todos.reduce((max, t) => Math.max(max, t.id), 0) + 1;']],
    });
    expectScores(await score(slug, fixed, [C.dAdd]), { [C.dAdd]: 2 });
  });

  it('score the unmodified baseline 7 of 19: its tests pass and its behaviour is the baseline, nothing else', async () => {
    const baseline = await mkdtemp(join(root, 'baseline-'));
    await cp(join(benchDir(slug), 'baseline'), baseline, { recursive: true });
    for (const f of ['prompt.md', 'context.md']) await cp(join(benchDir(slug), f), join(baseline, f));
    const results = await score(slug, baseline);
    expectScores(results, {
      [C.a]: 3,
      [C.b]: 2,
      [C.c]: 0,
      [C.dAdd]: 0,
      [C.e]: 0,
      [C.dClear]: 0,
      [C.f]: 0,
      [C.h]: 0,
      [C.g]: 2,
    });
    expect(results[C.c]!.output).toContain('3 [x] c\n  3 [x] d');
  });

  it('fail the tests criteria on weakened, failing or missing tests', async () => {
    const demo = attemptDir(slug);
    const removedTest = `  it('removes that todo and keeps the other ids', () => {
    const todos = removeTodo(listOf('Buy milk', 'Call the bank', 'Book flights'), 2);
    assert.deepEqual(
      todos.map((t) => [t.id, t.text]),
      [
        [1, 'Buy milk'],
        [3, 'Book flights'],
      ],
    );
  });

`;
    const loosened: [string, string] = ['    assert.equal(r.code, 1);', '    assert.ok(r.code);'];
    const [weakened, loosenedOnly, failing, noUnitTests] = await Promise.all([
      variant(demo, { 'test/todos.test.mjs': [[removedTest, '']], 'test/cli.test.mjs': [loosened] }),
      variant(demo, { 'test/cli.test.mjs': [loosened] }),
      variant(demo, {
        'test/todos.test.mjs': [
          ["assert.equal(formatTodos([]), 'No todos.');", "assert.equal(formatTodos([]), '');"],
        ],
      }),
      variant(demo, {
        'test/todos.test.mjs': [
          [
            "  it('removes only the done todos and counts them', () => {",
            "  it.skip('removes only the done todos and counts them', () => {",
          ],
        ],
      }),
    ]);
    const [w, l, f, n] = await Promise.all([
      score(slug, weakened, [C.a, C.b]),
      score(slug, loosenedOnly, [C.b]),
      score(slug, failing, [C.a]),
      score(slug, noUnitTests, [C.h]),
    ]);
    expectScores(w, { [C.a]: 1, [C.b]: 0 });
    expect(w[C.b]!.output).toContain(
      'baseline test missing: removeTodo > removes that todo and keeps the other ids',
    );
    expectScores(l, { [C.b]: 1 });
    expect(l[C.b]!.output).toContain(
      'not found (changed or removed): test/cli.test.mjs: assert.equal(r.code, 1)',
    );
    expectScores(f, { [C.a]: 0 });
    // No test of clearDone itself fails when it does nothing; only the command line's clear is tested.
    expectScores(n, { [C.h]: 0 });
  });

  it('give partial credit for a fix in the CLI only, a clear with a wrong word, an impure clearDone and a changed exit code', async () => {
    const demo = attemptDir(slug);
    const [cliOnly, plural, splice, removesOpen, exitCode, compact] = await Promise.all([
      // addTodo keeps the bug; the command line renumbers the new todo itself.
      variant(demo, {
        'src/todos.mjs': [['id: nextId(todos)', 'id: todos.length + 1']],
        'bin/todo.mjs': [
          [
            "      const { todos, todo } = addTodo(loadTodos(file), args.join(' '));",
            "      const old = loadTodos(file);\n      const added = addTodo(old, args.join(' '));\n      const todo = { ...added.todo, id: Math.max(0, ...old.map((t) => t.id)) + 1 };\n      const todos = [...old, todo];",
          ],
        ],
      }),
      variant(demo, { 'bin/todo.mjs': [[`done todo\${cleared === 1 ? '' : 's'}.`, 'done todos.']] }),
      variant(demo, {
        'src/todos.mjs': [
          [
            '  const open = todos.filter((t) => !t.done);\n  return { todos: open, cleared: todos.length - open.length };',
            '  const before = todos.length;\n  for (let i = todos.length - 1; i >= 0; i--) if (todos[i].done) todos.splice(i, 1);\n  return { todos, cleared: before - todos.length };',
          ],
        ],
      }),
      variant(demo, { 'src/todos.mjs': [['todos.filter((t) => !t.done)', 'todos.filter((t) => t.done)']] }),
      variant(demo, { 'bin/todo.mjs': [['  process.exit(1);', '  process.exit(3);']] }),
      variant(demo, { 'src/store.mjs': [['JSON.stringify(todos, null, 2)', 'JSON.stringify(todos)']] }),
    ]);
    expectScores(await score(slug, cliOnly, [C.c, C.dAdd]), { [C.c]: 1, [C.dAdd]: 0 });
    expectScores(await score(slug, plural, [C.f]), { [C.f]: 1 });
    expectScores(await score(slug, splice, [C.dClear]), { [C.dClear]: 1 });
    expectScores(await score(slug, removesOpen, [C.dClear, C.f]), { [C.dClear]: 0, [C.f]: 0 });
    expectScores(await score(slug, exitCode, [C.g]), { [C.g]: 1 });
    expectScores(await score(slug, compact, [C.g]), { [C.g]: 0 });
  });
});
