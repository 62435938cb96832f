// Check E, "Regression test catches the bug: fails with it put back, passes on the attempt" (2,
// hybrid; this is its automatic part). The attempt's tests run on the attempt, then on a copy in
// which addTodo gives the new todo the id `todos.length + 1` again (the baseline's line): the
// attempt's addTodo is wrapped so that only the id of the todo it adds changes, the rest of the
// attempt (its other functions, the CLI, the tests) stays as it is. Every test that passes on the
// attempt and fails so is about ids, since nothing else changed; they are named below.
// Full: at least one such test, and the suite passes on the attempt. Partial (1): such a test,
// but other tests fail on the attempt. Zero: no test notices the bug.
import { BUG_BACK, evaluate, exportsOf, finish, runTests, workspaceCopy, wrapModule } from './lib.mjs';

const MAX = 2;
console.log(
  'check E: node --test on the attempt, then with the bug put back in addTodo (id: todos.length + 1)',
);
const attempt = runTests(workspaceCopy('attempt'));
console.log(`on the attempt: ${attempt.summary}`);
for (const line of attempt.describeFailures()) console.log(line);

const buggy = workspaceCopy('bug-back');
const exported = exportsOf(buggy, 'src/todos.mjs');
if (exported.error || !exported.names.includes('addTodo')) {
  console.log(`src/todos.mjs: ${exported.error ?? `exports no addTodo (${exported.names.join(', ')})`}`);
  finish(0, MAX, 'zero: the bug cannot be put back: there is no addTodo to change');
}
wrapModule(buggy, 'src/todos.mjs', exported.names, { addTodo: BUG_BACK }, 'addTodo with the bug put back');
const proof = evaluate(
  buggy,
  'src/todos.mjs',
  "return m.addTodo([{ id: 2, text: 'b', done: false }, { id: 3, text: 'c', done: false }], 'd').todos.map((t) => t.id);",
);
console.log(
  `with the bug put back, addTodo([2 b, 3 c], 'd') gives the ids ${JSON.stringify(proof.value ?? proof.error)}`,
);
if (JSON.stringify(proof.value) !== '[2,3,3]') {
  finish(
    0,
    MAX,
    'zero: the bug could not be put back into this addTodo (expected the ids [2,3,3]); review by hand',
  );
}
const withBug = runTests(buggy);
console.log(`with the bug put back: ${withBug.summary}`);
const passedOnAttempt = new Set(
  attempt.tests.filter((t) => t.pass && !t.skip).map((t) => `${t.file}\n${t.name}`),
);
const catching = withBug.failed.filter((t) => passedOnAttempt.has(`${t.file}\n${t.name}`));
for (const t of catching)
  console.log(
    `  caught by: ${t.file}: ${t.name}${t.error ? ` -- ${t.error.replace(/\s+/g, ' ').slice(0, 160)}` : ''}`,
  );

if (catching.length === 0)
  finish(0, MAX, 'zero: no test that passes on the attempt fails with the bug put back');
if (!attempt.passed)
  finish(1, MAX, 'partial: a test catches the bug, but the suite does not pass on the attempt');
finish(MAX, MAX, `full: ${catching.length} test(s) fail with the bug put back and pass on the attempt`);
