// Check A, "Test suite passes" (3): `node --test` in the attempt passes. Failure rules: 0 when it
// fails or cannot run; at most 1 when a baseline test was removed or skipped to get there.
import { baselineKept, finish, runTests, workspaceCopy } from './lib.mjs';

const MAX = 3;
const ws = workspaceCopy();
console.log('check A: node --test in a copy of the attempt');
const r = runTests(ws);
console.log(r.summary);
for (const line of r.describeFailures()) console.log(line);
if (r.timedOut) finish(0, MAX, 'zero: node --test did not finish');
if (!r.passed) finish(0, MAX, 'zero: node --test fails');
if (r.tests.length === 0) finish(0, MAX, 'zero: node --test ran no tests');

const kept = baselineKept(ws, r);
const gone = [...kept.missing.map((n) => `missing: ${n}`), ...kept.skipped.map((n) => `skipped: ${n}`)];
if (gone.length > 0) {
  for (const line of gone) console.log(`baseline test ${line}`);
  finish(1, MAX, 'partial: the suite passes, but without every baseline test (failure rules: at most 1)');
}
console.log(`all ${kept.baseline.length} baseline tests ran and passed`);
finish(MAX, MAX, 'full: node --test passes, baseline tests included');
