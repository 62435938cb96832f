// "`node --test` passes and tests the rules for 3, 5 and 15" (2, hybrid; this is its automatic
// part, the reviewer still reads the tests). `node --test` runs on the attempt; then with the
// attempt's fizzbuzz.mjs replaced by a correct one (the control: the tests must pass on any
// correct fizzbuzz.mjs, which is all the prompt specifies), and by three that each break one rule.
// A rule is tested when its broken version makes the tests fail.
// Full: the tests pass and catch all three. Partial (1): they pass but miss a rule, or the
// control fails, so the rules cannot be told apart. Zero: node --test fails or runs no tests.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ending, excerpt, finish, linesOf, node, workspaceCopy } from './lib.mjs';

const MAX = 2;

/** A fizzbuzz.mjs as the prompt asks for it, with the value of k given by `value`. */
const implementation = (value) => `#!/usr/bin/env node
// Written by a scoring check: a fizzbuzz.mjs to run the attempt's tests against.
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const value = ${value};

export function fizzbuzz(n) {
  return Array.from({ length: n }, (_, i) => value(i + 1));
}

const main = process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
if (main) {
  const arg = process.argv[2] ?? '100';
  if (!/^[0-9]+$/.test(arg) || Number(arg) < 1) {
    console.error('usage: node fizzbuzz.mjs [N], N a positive whole number');
    process.exit(2);
  }
  console.log(fizzbuzz(Number(arg)).join('\\n'));
}
`;
const CONTROL =
  "(k) => (k % 15 === 0 ? 'FizzBuzz' : k % 3 === 0 ? 'Fizz' : k % 5 === 0 ? 'Buzz' : String(k))";
const MUTANTS = [
  {
    rule: '3',
    why: 'multiples of 3 only print the number',
    value: "(k) => (k % 15 === 0 ? 'FizzBuzz' : k % 5 === 0 ? 'Buzz' : String(k))",
  },
  {
    rule: '5',
    why: 'multiples of 5 only print the number',
    value: "(k) => (k % 15 === 0 ? 'FizzBuzz' : k % 3 === 0 ? 'Fizz' : String(k))",
  },
  {
    rule: '15',
    why: 'multiples of 15 print Fizz',
    value: "(k) => (k % 3 === 0 ? 'Fizz' : k % 5 === 0 ? 'Buzz' : String(k))",
  },
];

/** `node --test` in a copy of the attempt, with fizzbuzz.mjs replaced when `value` is given. */
function tests(value) {
  const ws = workspaceCopy();
  if (value) writeFileSync(join(ws, 'fizzbuzz.mjs'), implementation(value));
  const r = node(ws, ['--test', '--test-reporter=tap'], 60_000);
  const count = (what) => Number(new RegExp(`^# ${what} (\\d+)$`, 'm').exec(r.stdout)?.[1] ?? 0);
  return {
    ...r,
    total: count('tests'),
    failed: count('fail'),
    summary: `${ending(r)}, ${count('tests')} tests, ${count('fail')} failed`,
  };
}

console.log(
  'check: node --test on the attempt, then on a correct fizzbuzz.mjs and on three that break one rule each',
);
const attempt = tests();
console.log(`on the attempt: ${attempt.summary}`);
if (attempt.code !== 0 || attempt.total === 0) {
  const failing = linesOf(attempt.stdout).filter((l) => /^\s*not ok /.test(l));
  console.log(excerpt(failing.join('\n') || attempt.stderr));
  finish(0, MAX, attempt.total === 0 ? 'zero: node --test runs no tests' : 'zero: node --test fails');
}
const control = tests(CONTROL);
console.log(`on a correct fizzbuzz.mjs: ${control.summary}`);
if (control.code !== 0) {
  finish(
    1,
    MAX,
    'partial: the tests pass, but fail on a correct fizzbuzz.mjs (they need more than fizzbuzz(n) and the CLI), so which rules they test cannot be told; read them',
  );
}
const missed = [];
for (const m of MUTANTS) {
  const r = tests(m.value);
  const caught = r.code !== 0;
  if (!caught) missed.push(m.rule);
  console.log(`rule for ${m.rule} broken (${m.why}): ${r.summary}; ${caught ? 'caught' : 'NOT caught'}`);
}
if (missed.length === 0)
  finish(MAX, MAX, 'full: node --test passes and catches a broken rule for 3, 5 and 15');
finish(1, MAX, `partial: node --test passes, but does not test the rule for ${missed.join(' and ')}`);
