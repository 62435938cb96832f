// Check F, "`todo clear` prints the three messages and keeps open todos" (2): a session of clears
// with a fresh list file, then `clear x`. Full: every line as expected (context.md's messages,
// byte for byte) and `clear x` exits 2 with the usage on stderr. Partial (1): clear removes
// exactly the done todos (both lists right) but a detail is off: a message's wording or plural,
// another line of the session, or `clear x`. Zero: clear is missing or removes the wrong todos.
import { finish, freshListFile, linesOf, session, showStep, workspaceCopy } from './lib.mjs';

const MAX = 2;
const STEPS = [
  ['clear', 'Nothing to clear.'],
  ['add a', 'Added 1: a'],
  ['add b', 'Added 2: b'],
  ['add c', 'Added 3: c'],
  ['done 1', 'Done 1'],
  ['clear', 'Cleared 1 done todo.'],
  ['list', '2 [ ] b\n3 [ ] c'],
  ['done 3', 'Done 3'],
  ['clear', 'Cleared 1 done todo.'],
  ['add d', 'Added 3: d'],
  ['done 2', 'Done 2'],
  ['done 3', 'Done 3'],
  ['clear', 'Cleared 2 done todos.'],
  ['list', 'No todos.'],
];

const ws = workspaceCopy();
console.log(`check F: for c in ${STEPS.map(([c]) => `"${c}"`).join(' ')}; do node bin/todo.mjs $c; done`);
const file = freshListFile();
const steps = session(
  ws,
  file,
  STEPS.map(([c]) => c),
);
const wrong = [];
for (const [i, step] of steps.entries()) {
  const expected = STEPS[i][1];
  console.log(showStep(step));
  if (step.code !== 0 || step.stdout.replace(/\r\n/g, '\n').trimEnd() !== expected) {
    wrong.push(step.line);
    console.log(`  expected: ${expected.replace(/\n/g, ' / ')}`);
  }
}
const [extra] = session(ws, file, ['clear x']);
console.log(showStep(extra));
const usage = extra.code === 2 && linesOf(extra.stderr).some((l) => /^usage: /.test(l));
if (!usage) console.log('  expected: the usage on stderr, exit 2');

const listsRight = !wrong.includes('list');
const clearsRun = steps
  .filter((s) => s.line === 'clear')
  .every((s) => s.code === 0 && s.stdout.trim() !== '');
if (wrong.length === 0 && usage)
  finish(MAX, MAX, 'full: every message and list as expected; clear x exits 2 with the usage');
if (listsRight && clearsRun) {
  const off = [...new Set(wrong)].map((c) => `"${c}"`).join(', ');
  finish(
    1,
    MAX,
    `partial: clear removes exactly the done todos, but ${[off && `${off} printed otherwise`, usage ? '' : 'clear x is not a usage error'].filter(Boolean).join(' and ')}`,
  );
}
finish(0, MAX, 'zero: clear is missing, or keeps or removes the wrong todos');
