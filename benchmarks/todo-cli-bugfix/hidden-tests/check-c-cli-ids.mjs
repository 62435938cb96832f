// Check C, "Duplicate-id bug fixed through the CLI" (3): the reported session, with a fresh list
// file. Full: the expected output exactly, with addTodo itself fixed. Partial (1): no two todos
// share an id and `done 3` ticks one todo, but a detail is off (an id not by the rule, a
// message), or the fix is in bin/todo.mjs while addTodo keeps the bug. Zero: ids still collide.
import { evaluate, finish, freshListFile, linesOf, session, showStep, workspaceCopy } from './lib.mjs';

const MAX = 3;
const COMMANDS = ['add a', 'add b', 'add c', 'rm 1', 'add d', 'list', 'done 3', 'list'];
const EXPECTED = [
  'Added 1: a',
  'Added 2: b',
  'Added 3: c',
  'Removed 1',
  'Added 4: d',
  '2 [ ] b\n3 [ ] c\n4 [ ] d',
  'Done 3',
  '2 [ ] b\n3 [x] c\n4 [ ] d',
];

const ws = workspaceCopy();
console.log(`check C: for c in ${COMMANDS.map((c) => `"${c}"`).join(' ')}; do node bin/todo.mjs $c; done`);
const steps = session(ws, freshListFile(), COMMANDS);
let exact = true;
for (const [i, step] of steps.entries()) {
  const ok = step.code === 0 && step.stdout.replace(/\r\n/g, '\n').trimEnd() === EXPECTED[i];
  exact &&= ok;
  console.log(showStep(step));
  if (!ok) console.log(`  expected: ${EXPECTED[i].replace(/\n/g, ' / ')}`);
}

// addTodo itself, on the list the session had before `add d`: is the fix there or only in the CLI?
const probe = evaluate(
  ws,
  'src/todos.mjs',
  `const list = [{ id: 2, text: 'b', done: false }, { id: 3, text: 'c', done: false }];
   return m.addTodo(list, 'd').todo.id;`,
);
const addTodoFixed = probe.value !== undefined && probe.value !== 2 && probe.value !== 3;
console.log(
  `addTodo([2 b, 3 c], 'd').todo.id -> ${probe.value ?? probe.error} (2 or 3 would be a duplicate)`,
);

/** The todos of a `list` output as [id, done], or undefined when a line is not `<id> [ ] <text>`. */
const parse = (step) => {
  const rows = linesOf(step.stdout).map((l) => /^(\d+) \[([ x])\] /.exec(l));
  return step.code === 0 && rows.length > 0 && rows.every(Boolean)
    ? rows.map((m) => [Number(m[1]), m[2] === 'x'])
    : undefined;
};
const [before, after] = [parse(steps[5]), parse(steps[7])];
const unique = (rows) => rows && new Set(rows.map(([id]) => id)).size === rows.length;
const fixed = unique(before) && unique(after) && after.filter(([, done]) => done).length === 1;

if (exact && addTodoFixed) finish(MAX, MAX, 'full: the session prints exactly the expected lines');
if (exact) finish(1, MAX, 'partial: the CLI is right, but addTodo itself still gives a duplicate id');
if (fixed)
  finish(1, MAX, 'partial: no duplicate ids and one todo ticked, but the output is not the expected one');
finish(0, MAX, 'zero: the lists show duplicate ids, or the session does not run');
