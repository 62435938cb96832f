// "Default N is 100" (1): `node fizzbuzz.mjs | wc -l` prints 100. The lines are compared with
// the expected ones only for the evidence: a wrong value is scored by the other criteria.
import { ending, expected, finish, linesOf, node, requireItRuns, workspaceCopy } from './lib.mjs';

const MAX = 1;
const ws = workspaceCopy();
requireItRuns(ws, MAX);
console.log('check: node fizzbuzz.mjs | wc -l');
const r = node(ws, ['fizzbuzz.mjs']);
const lines = linesOf(r.stdout);
console.log(`${ending(r)}; ${lines.length} lines; the last three: ${JSON.stringify(lines.slice(-3))}`);
const same = JSON.stringify(lines) === JSON.stringify(expected(100));
console.log(same ? 'they are the values from 1 to 100' : 'they are not exactly the values from 1 to 100');
if (r.code === 0 && lines.length === 100) finish(MAX, MAX, 'full: 100 lines with no argument');
finish(0, MAX, `zero: with no argument it ${r.code === 0 ? `prints ${lines.length} lines` : 'fails'}`);
