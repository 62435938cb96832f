// "`node fizzbuzz.mjs 15` prints the 15 correct lines" (3). Full: exactly the 15 values of
// context.md, one per line. Partial (1): off by one (one line missing or one too many, or the
// count starting at 0 or at 2). Zero: anything else, or it does not run.
import { isDeepStrictEqual } from 'node:util';
import { ending, excerpt, expected, finish, fizzbuzzValue, linesOf, node, workspaceCopy } from './lib.mjs';

const MAX = 3;
const ws = workspaceCopy();
console.log('check: node fizzbuzz.mjs 15');
const r = node(ws, ['fizzbuzz.mjs', '15']);
console.log(`${ending(r)}; stdout:`);
console.log(excerpt(r.stdout, 20));
if (r.stderr.trim()) console.log(`stderr:\n${excerpt(r.stderr)}`);
if (r.code !== 0) finish(0, MAX, 'zero: node fizzbuzz.mjs 15 does not run');

const got = linesOf(r.stdout);
const want = expected(15);
if (isDeepStrictEqual(got, want)) finish(MAX, MAX, 'full: the 15 lines are exactly the expected ones');
const firstWrong = want.findIndex((line, i) => got[i] !== line);
console.log(`expected ${JSON.stringify(want)}`);
console.log(
  `first difference at line ${firstWrong + 1}: got ${JSON.stringify(got[firstWrong] ?? null)}, expected ${JSON.stringify(want[firstWrong])}`,
);
const from = (start, end) => Array.from({ length: end - start + 1 }, (_, i) => fizzbuzzValue(start + i));
const offByOne = [expected(14), expected(16), from(0, 14), from(0, 15), from(2, 16)];
if (offByOne.some((near) => isDeepStrictEqual(got, near))) finish(1, MAX, 'partial: off by one');
finish(0, MAX, 'zero: the lines are not the 15 values');
