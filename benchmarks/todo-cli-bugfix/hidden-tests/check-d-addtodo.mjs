// Check D, first half: "Id rule holds in `addTodo` itself, edge cases included" (2). addTodo is
// called on an empty list, on the list of the report (after a removal) and on an unordered list.
// Full: all three give the id of the rule. Partial (1): the report's case is right, one edge case
// is not (an unordered list, or the empty list). Zero: the report's case still gives a duplicate.
import { evaluate, finish, workspaceCopy } from './lib.mjs';

const MAX = 2;
const CASES = [
  { call: "addTodo([], 'x').todo.id", expected: 1, edge: 'the empty list' },
  { call: "addTodo([t(2), t(3)], 'x').todo.id", expected: 4, edge: null },
  { call: "addTodo([t(5), t(2)], 'x').todo.id", expected: 6, edge: 'an unordered list' },
];

const ws = workspaceCopy();
console.log(
  "check D (addTodo): import { addTodo } from './src/todos.mjs', with t = (id, done = false) => ({ id, text: 't' + id, done })",
);
const got = CASES.map((c) =>
  evaluate(
    ws,
    'src/todos.mjs',
    `const t = (id, done = false) => ({ id, text: 't' + id, done });
     const { addTodo } = m;
     try { return { id: ${c.call} }; } catch (e) { return { threw: String(e) }; }`,
  ),
);
if (got[0].error) {
  console.log(`src/todos.mjs does not load: ${got[0].error}`);
  finish(0, MAX, 'zero: addTodo cannot be called');
}
const wrong = [];
for (const [i, c] of CASES.entries()) {
  const value = got[i].value ?? {};
  const shown = 'threw' in value ? `throws ${value.threw}` : JSON.stringify(value.id);
  const ok = value.id === c.expected;
  if (!ok) wrong.push(c);
  console.log(`${c.call} -> ${shown}; expected ${c.expected}${ok ? '' : '  WRONG'}`);
}
if (wrong.length === 0) finish(MAX, MAX, 'full: the id rule holds in every case');
if (wrong.some((c) => !c.edge))
  finish(0, MAX, 'zero: after a removal addTodo still gives an id in use, or no id of the rule');
if (wrong.length === 1) finish(1, MAX, `partial: the rule fails for ${wrong[0].edge}`);
finish(0, MAX, 'zero: the rule fails for both edge cases');
