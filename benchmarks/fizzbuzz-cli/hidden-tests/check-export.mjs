// "`fizzbuzz(n)` is exported and returns strings" (2): a scratch script imports fizzbuzz.mjs and
// calls fizzbuzz(n) for n = 1, 15, 100 and 150 (a list hard-coded to 100 values fails the last).
// Full: each returns an array of strings, exactly the expected values. Partial (1): fizzbuzz(15)
// has the right values, but not as strings, or another n is wrong. Zero: not exported, it
// throws, or fizzbuzz(15) is wrong.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ending, excerpt, expected, finish, node, requireItRuns, workspaceCopy } from './lib.mjs';

const MAX = 2;
const NS = [1, 15, 100, 150];
const SCRATCH = `import { writeFileSync } from 'node:fs';
const m = await import('./fizzbuzz.mjs');
const calls = {};
if (typeof m.fizzbuzz === 'function') {
  for (const n of ${JSON.stringify(NS)}) {
    try {
      const r = m.fizzbuzz(n);
      calls[n] = Array.isArray(r) ? { values: r.map((v) => [typeof v, String(v)]) } : { not: String(r) };
    } catch (e) {
      calls[n] = { threw: String(e) };
    }
  }
}
writeFileSync('scratch-result.json', JSON.stringify({ exported: typeof m.fizzbuzz, calls }));
`;

const ws = workspaceCopy();
requireItRuns(ws, MAX);
console.log(
  "check: a scratch script: import { fizzbuzz } from './fizzbuzz.mjs'; fizzbuzz(n) for n in 1, 15, 100, 150",
);
writeFileSync(join(ws, 'scratch-import.mjs'), SCRATCH);
const r = node(ws, ['scratch-import.mjs']);
let result;
try {
  result = JSON.parse(readFileSync(join(ws, 'scratch-result.json'), 'utf8'));
} catch {
  console.log(`the scratch script: ${ending(r)}`);
  console.log(excerpt(r.stderr || r.stdout));
  finish(0, MAX, 'zero: importing fizzbuzz.mjs fails, or it ends the importing program');
}
if (r.stdout.trim())
  console.log(`note: importing fizzbuzz.mjs printed ${r.stdout.trim().split('\n').length} lines`);
if (result.exported !== 'function')
  finish(0, MAX, `zero: fizzbuzz.mjs exports no function fizzbuzz (${result.exported})`);

let [allRight, rightValues15, strings15] = [true, false, false];
for (const n of NS) {
  const call = result.calls[n];
  const want = expected(n);
  if (!call.values) {
    console.log(
      `fizzbuzz(${n}): ${call.threw ? `throws ${call.threw}` : `returns ${call.not}, not an array`}  WRONG`,
    );
    allRight = false;
    continue;
  }
  const values = call.values.map(([, v]) => v);
  const sameValues = JSON.stringify(values) === JSON.stringify(want);
  const strings = call.values.every(([type]) => type === 'string');
  const types = [...new Set(call.values.map(([type]) => type))].join(', ') || 'none';
  const firstWrong = want.findIndex((v, i) => values[i] !== v);
  console.log(
    `fizzbuzz(${n}): ${values.length} values of type ${types}; last: ${JSON.stringify(values.at(-1))}${sameValues && strings ? '' : `  WRONG${firstWrong >= 0 ? ` at index ${firstWrong}: ${JSON.stringify(values[firstWrong] ?? null)}, expected ${JSON.stringify(want[firstWrong])}` : ''}${strings ? '' : ' (not all strings)'}`}`,
  );
  allRight &&= sameValues && strings;
  if (n === 15) [rightValues15, strings15] = [sameValues, strings];
}
if (allRight) finish(MAX, MAX, 'full: fizzbuzz(n) returns the expected strings for every n');
if (rightValues15)
  finish(
    1,
    MAX,
    `partial: fizzbuzz(15) has the right values, but ${strings15 ? 'another n is wrong' : 'not all are strings'}`,
  );
finish(0, MAX, 'zero: fizzbuzz(15) does not return the expected values');
