// "Tests added for `clearDone` and `todo clear`" (1, hybrid; this is its automatic part): the
// scorecard asks that each would fail if clear did nothing. So the attempt's tests run three
// times: on the attempt; with clearDone doing nothing (every todo kept, 0 cleared); and with
// `todo clear` doing nothing at the command line (it prints "Nothing to clear." and leaves the
// file alone; every other command is the attempt's). A test of clearDone itself fails with the
// first and passes with the second; a test of `todo clear` fails with the second.
// Full: the suite passes on the attempt and there is a test of each kind. Zero otherwise.
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exportsOf, finish, freshListFile, runTests, todo, workspaceCopy, wrapModule } from './lib.mjs';

const MAX = 1;
const CLEAR_DOES_NOTHING = `export function clearDone(todos) {
  return { todos: [...todos], cleared: 0 };
}`;
const CLI_CLEAR_DOES_NOTHING = `#!/usr/bin/env node
// Written by a scoring check: \`todo clear\` does nothing; every other command is the attempt's.
if (process.argv[2] === 'clear' && process.argv.length === 3) console.log('Nothing to clear.');
else await import('./todo.scoring-original.mjs');
`;

console.log("check: the attempt's tests with clearDone doing nothing, and with `todo clear` doing nothing");
const attempt = runTests(workspaceCopy('attempt'));
console.log(`on the attempt: ${attempt.summary}`);
for (const line of attempt.describeFailures()) console.log(line);
if (!attempt.passed) finish(0, MAX, 'zero: the suite does not pass on the attempt');

const unitCopy = workspaceCopy('cleardone-does-nothing');
const exported = exportsOf(unitCopy, 'src/todos.mjs');
if (exported.error || !exported.names.includes('clearDone')) {
  finish(
    0,
    MAX,
    `zero: src/todos.mjs ${exported.error ? `does not load: ${exported.error}` : 'exports no clearDone'}`,
  );
}
wrapModule(
  unitCopy,
  'src/todos.mjs',
  exported.names,
  { clearDone: CLEAR_DOES_NOTHING },
  'clearDone does nothing',
);
const withoutClearDone = runTests(unitCopy);

const original = workspaceCopy('cli-original');
const cliCopy = workspaceCopy('cli-clear-does-nothing');
renameSync(join(cliCopy, 'bin/todo.mjs'), join(cliCopy, 'bin/todo.scoring-original.mjs'));
writeFileSync(join(cliCopy, 'bin/todo.mjs'), CLI_CLEAR_DOES_NOTHING);
// The wrapper must leave the other commands as they were, or the comparison means nothing.
const [fileA, fileB] = [freshListFile(), freshListFile()];
const same = ['add x', 'done 1', 'list'].every((c) => {
  const [a, b] = [todo(original, fileA, c.split(' ')), todo(cliCopy, fileB, c.split(' '))];
  return a.code === b.code && a.stdout === b.stdout;
});
if (!same) finish(0, MAX, 'zero: bin/todo.mjs cannot be wrapped (the other commands change); review by hand');
const withoutCliClear = runTests(cliCopy);

const key = (t) => `${t.file}\n${t.name}`;
const passing = new Set(attempt.tests.filter((t) => t.pass && !t.skip).map(key));
const failsIn = (r) => new Set(r.failed.map(key).filter((k) => passing.has(k)));
const [unitFails, cliFails] = [failsIn(withoutClearDone), failsIn(withoutCliClear)];
const show = (k) => k.replace('\n', ': ');
console.log(`with clearDone doing nothing: ${withoutClearDone.summary}`);
console.log(`with todo clear doing nothing: ${withoutCliClear.summary}`);
const unitTests = [...unitFails].filter((k) => !cliFails.has(k));
for (const k of unitTests) console.log(`  tests clearDone: ${show(k)}`);
for (const k of cliFails) console.log(`  tests todo clear: ${show(k)}`);
if (unitTests.length === 0)
  console.log('  no test fails when clearDone does nothing but the command line clears');
if (cliFails.size === 0) console.log('  no test fails when todo clear does nothing');

if (unitTests.length > 0 && cliFails.size > 0)
  finish(MAX, MAX, 'full: tests of clearDone and of todo clear, each failing when clear does nothing');
finish(
  0,
  MAX,
  `zero: no test would fail if ${unitTests.length === 0 ? 'clearDone' : 'todo clear'} did nothing`,
);
