// Check D, second half: "`clearDone(todos)` exported, correct and pure" (2). Full: the three
// calls of the scorecard give the expected lists and counts, and the input is left as it was.
// Partial (1): the right todos are kept, but the input is changed (a splice) or the count is
// wrong or named otherwise. Zero: not exported, or it keeps the wrong todos.
import { isDeepStrictEqual } from 'node:util';
import { evaluate, finish, workspaceCopy } from './lib.mjs';

const MAX = 2;
const ws = workspaceCopy();
console.log(
  "check D (clearDone): import { clearDone } from './src/todos.mjs', with t = (id, done = false) => ({ id, text: 't' + id, done })",
);
const r = evaluate(
  ws,
  'src/todos.mjs',
  `const t = (id, done = false) => ({ id, text: 't' + id, done });
   if (typeof m.clearDone !== 'function') return { exported: typeof m.clearDone };
   const call = (input) => {
     const before = JSON.stringify(input);
     try {
       const result = m.clearDone(input);
       return { result, unchanged: JSON.stringify(input) === before, length: input.length };
     } catch (e) {
       return { threw: String(e) };
     }
   };
   return { exported: 'function', calls: [call([t(1, true), t(2), t(3, true)]), call([t(1)]), call([])] };`,
);
if (r.error) {
  console.log(`src/todos.mjs does not load: ${r.error}`);
  finish(0, MAX, 'zero: clearDone cannot be called');
}
if (r.value.exported !== 'function')
  finish(0, MAX, `zero: src/todos.mjs exports no function clearDone (${r.value.exported})`);

const t = (id, done = false) => ({ id, text: `t${id}`, done });
const CASES = [
  { call: 'clearDone([t(1, true), t(2), t(3, true)])', todos: [t(2)], cleared: 2 },
  { call: 'clearDone([t(1)])', todos: [t(1)], cleared: 0 },
  { call: 'clearDone([])', todos: [], cleared: 0 },
];
let [keepsRight, countsRight, pure] = [true, true, true];
for (const [i, c] of CASES.entries()) {
  const got = r.value.calls[i];
  if ('threw' in got) {
    console.log(`${c.call} throws ${got.threw}`);
    keepsRight = false;
    continue;
  }
  const todos = got.result?.todos;
  const keeps = isDeepStrictEqual(todos, c.todos);
  const counts = got.result?.cleared === c.cleared;
  const notes = [
    keeps ? '' : `todos should be ${JSON.stringify(c.todos)}`,
    counts ? '' : `cleared should be ${c.cleared}`,
    got.unchanged ? '' : 'the input array was changed',
  ].filter(Boolean);
  [keepsRight, countsRight, pure] = [keepsRight && keeps, countsRight && counts, pure && got.unchanged];
  console.log(
    `${c.call} -> ${JSON.stringify(got.result)}; input length after ${got.length}${notes.length ? `  WRONG: ${notes.join('; ')}` : ''}`,
  );
}
if (keepsRight && countsRight && pure)
  finish(MAX, MAX, 'full: clearDone keeps the open todos, counts the done ones and leaves its input alone');
if (keepsRight) {
  const off = [countsRight ? '' : 'the count is wrong or missing', pure ? '' : 'the input is changed'];
  finish(1, MAX, `partial: the right todos are kept, but ${off.filter(Boolean).join(' and ')}`);
}
finish(0, MAX, 'zero: clearDone does not keep exactly the open todos');
