// "Invalid N exits 2 with a usage line on stderr" (2), on `node fizzbuzz.mjs x` and, beside it,
// two other invalid N: -3 and 2.5. Full: each exits 2 with a line on stderr
// that says usage. Partial (1): `x` exits non-zero, but with another code or no usage line; or
// `x` is right and another invalid N is not. Zero: `x` exits 0, or it hangs.
import { ending, finish, linesOf, node, requireItRuns, workspaceCopy } from './lib.mjs';

const MAX = 2;
const ws = workspaceCopy();
requireItRuns(ws, MAX);
console.log('check: node fizzbuzz.mjs x, then -3 and 2.5: exit code and stderr');
const verdicts = ['x', '-3', '2.5'].map((arg) => {
  const r = node(ws, ['fizzbuzz.mjs', arg]);
  const usage = linesOf(r.stderr).find((l) => /usage/i.test(l));
  const right = r.code === 2 && usage !== undefined;
  const out = linesOf(r.stdout).length;
  console.log(
    `node fizzbuzz.mjs ${JSON.stringify(arg)}: ${ending(r)}; stderr: ${JSON.stringify(linesOf(r.stderr).slice(0, 3).join('\n'))}; ${out} lines on stdout${right ? '' : `  WRONG: expected exit 2 and a usage line on stderr`}`,
  );
  return { arg, r, usage, right, nonZero: !r.timedOut && r.code !== 0 && r.code !== null };
});
const [x, ...others] = verdicts;
if (x.right && others.every((v) => v.right))
  finish(MAX, MAX, 'full: every invalid N exits 2 with a usage line');
if (x.right)
  finish(
    1,
    MAX,
    `partial: x is refused right, but not ${others
      .filter((v) => !v.right)
      .map((v) => JSON.stringify(v.arg))
      .join(', ')}`,
  );
if (x.nonZero) {
  const off = [
    x.r.code === 2 ? '' : `exits ${x.r.code}, not 2`,
    x.usage ? '' : 'prints no usage line on stderr',
  ];
  finish(1, MAX, `partial: x is refused, but ${off.filter(Boolean).join(' and ')}`);
}
finish(0, MAX, 'zero: node fizzbuzz.mjs x does not fail');
