#!/usr/bin/env node
// A deterministic stand-in for a coding agent, so the pipeline can be tried with no API key.
// It reads the task from prompt.md in its working directory, "thinks" in a few logged steps and
// writes a solution. It knows how to solve the shipped examples: fizzbuzz-cli (greenfield: it
// writes the files) and todo-cli-bugfix (brownfield: the baseline is the workspace root, and it
// edits those files in place). For any other task it writes a note saying so and exits 1, which
// the pipeline records as a failed attempt.
//
// Like a real attempt, its solutions are good but not perfect, so that scoring them shows partial
// credit: its fizzbuzz.mjs exits 1 (not 2) on an invalid N, and its todo-cli fix takes a new id
// from the last todo's id, which is the highest only while the list is in id order.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

if (process.argv.includes('--version')) {
  console.log('demo-agent 1.0.0');
  process.exit(0);
}

const step = (message) => {
  console.log(`[demo-agent] ${message}`);
  // A short pause per step, so a live view has something to show.
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 50);
};

/** Gives up the way a real agent's failed attempt ends: a note, and exit 1. */
const giveUp = (why) => {
  writeFileSync('ATTEMPT.md', `# demo-agent\n\n${why}\n`);
  console.error(`[demo-agent] ${why}; wrote ATTEMPT.md`);
  process.exit(1);
};

const instruction = process.argv.at(-1) ?? '';
step(`instruction: ${instruction.split('\n')[0]}`);
if (!existsSync('prompt.md')) {
  console.error('[demo-agent] no prompt.md in the working directory');
  process.exit(2);
}
const prompt = readFileSync('prompt.md', 'utf8');
step(`read prompt.md (${prompt.length} bytes)`);
if (existsSync('context.md')) step(`read context.md (${readFileSync('context.md', 'utf8').length} bytes)`);
step(`model: ${process.env.BENCH_PIPELINE_MODEL ?? '<vendor-default>'}`);

if (/fizzbuzz/i.test(prompt)) solveFizzbuzz();
else if (/todo-cli/.test(prompt) && /todo clear/.test(prompt)) solveTodoCli();
else giveUp('The demo agent only knows how to solve the fizzbuzz-cli and todo-cli-bugfix examples.');
step('done');

/** fizzbuzz-cli: an empty workspace; write the module and its test. */
function solveFizzbuzz() {
  const solution = `#!/usr/bin/env node
// FizzBuzz from 1 to N (default 100), one value per line.
export function fizzbuzz(n) {
  return Array.from({ length: n }, (_, i) => {
    const k = i + 1;
    return k % 15 === 0 ? 'FizzBuzz' : k % 3 === 0 ? 'Fizz' : k % 5 === 0 ? 'Buzz' : String(k);
  });
}

if (import.meta.url === \`file://\${process.argv[1]}\`) {
  const n = process.argv[2] === undefined ? 100 : Number(process.argv[2]);
  if (!Number.isInteger(n) || n < 1) {
    console.error('usage: fizzbuzz.mjs [N], N a positive integer');
    process.exit(1);
  }
  console.log(fizzbuzz(n).join('\\n'));
}
`;
  const test = `import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fizzbuzz } from './fizzbuzz.mjs';

test('first fifteen', () => {
  assert.deepEqual(fizzbuzz(15).slice(-3), ['13', '14', 'FizzBuzz']);
  assert.equal(fizzbuzz(15)[2], 'Fizz');
  assert.equal(fizzbuzz(15)[4], 'Buzz');
});
`;
  writeFileSync('fizzbuzz.mjs', solution, { mode: 0o755 });
  step('wrote fizzbuzz.mjs');
  writeFileSync('fizzbuzz.test.mjs', test);
  step('wrote fizzbuzz.test.mjs');
  const out = execFileSync(process.execPath, ['fizzbuzz.mjs', '15'], { encoding: 'utf8' });
  step(`node fizzbuzz.mjs 15 -> ${out.trim().split('\n').slice(-3).join(' ')}`);
}

/**
 * Replaces `from` by `to` in `file`, where `from` must occur exactly once: an edit against a
 * baseline the agent does not recognise is a failed attempt, not a silent half-change.
 */
function edit(file, from, to) {
  const text = existsSync(file) ? readFileSync(file, 'utf8') : '';
  if (text.split(from).length !== 2) giveUp(`${file} is not the baseline the demo agent knows`);
  // A function replacement, so `$` in the new text is taken literally.
  const changed = text.replace(from, () => to);
  writeFileSync(file, changed);
}

/** todo-cli-bugfix: the baseline is the workspace root; fix addTodo's ids and add `clear`. */
function solveTodoCli() {
  step('node --test on the baseline passes; reproducing the report: ids come from todos.length');
  edit(
    'src/todos.mjs',
    'const todo = { id: todos.length + 1, text: trimmed, done: false };',
    'const todo = { id: nextId(todos), text: trimmed, done: false };',
  );
  edit(
    'src/todos.mjs',
    '/** @param {Todo[]} todos @param {number} id */\nfunction findTodo(',
    `/**
 * Removes every done todo; the open ones keep their order and ids.
 * @param {Todo[]} todos
 * @returns {{ todos: Todo[], cleared: number }}
 */
export function clearDone(todos) {
  const open = todos.filter((t) => !t.done);
  return { todos: open, cleared: todos.length - open.length };
}

/**
 * The id for a new todo: one past the last todo's, 1 for an empty list. The length of the list
 * is not enough: after a removal it can equal an id still in use.
 * @param {Todo[]} todos
 */
function nextId(todos) {
  return todos.length === 0 ? 1 : todos.at(-1).id + 1;
}

/** @param {Todo[]} todos @param {number} id */
function findTodo(`,
  );
  step('src/todos.mjs: new ids from the last id (nextId); clearDone');

  edit(
    'bin/todo.mjs',
    "import { addTodo, completeTodo, formatTodos, removeTodo, TodoError } from '../src/todos.mjs';",
    "import { addTodo, clearDone, completeTodo, formatTodos, removeTodo, TodoError } from '../src/todos.mjs';",
  );
  edit('bin/todo.mjs', "| todo rm <id>';", "| todo rm <id> | todo clear';");
  edit(
    'bin/todo.mjs',
    '    default:\n',
    `    case 'clear': {
      if (args.length > 0) usage(\`clear takes no arguments: \${args.join(' ')}\`);
      const { todos, cleared } = clearDone(loadTodos(file));
      saveTodos(file, todos);
      if (cleared === 0) console.log('Nothing to clear.');
      else console.log(\`Cleared \${cleared} done todo\${cleared === 1 ? '' : 's'}.\`);
      break;
    }
    default:
`,
  );
  step('bin/todo.mjs: the clear command');

  edit(
    'test/todos.test.mjs',
    "import { addTodo, completeTodo, formatTodos, removeTodo, TodoError } from '../src/todos.mjs';",
    "import { addTodo, clearDone, completeTodo, formatTodos, removeTodo, TodoError } from '../src/todos.mjs';",
  );
  edit(
    'test/todos.test.mjs',
    "describe('completeTodo', () => {",
    `describe('addTodo ids', () => {
  it('never reuses an id still in the list after a removal', () => {
    const todos = removeTodo(listOf('Buy milk', 'Call the bank', 'Book flights'), 1);
    const { todo } = addTodo(todos, 'Renew passport');
    assert.equal(todo.id, 4);
  });
});

describe('completeTodo', () => {`,
  );
  edit(
    'test/todos.test.mjs',
    "describe('formatTodos', () => {",
    `describe('clearDone', () => {
  it('removes only the done todos and counts them', () => {
    const todos = completeTodo(completeTodo(listOf('Buy milk', 'Call the bank', 'Book flights'), 1), 3);
    const result = clearDone(todos);
    assert.deepEqual(
      result.todos.map((t) => [t.id, t.text]),
      [[2, 'Call the bank']],
    );
    assert.equal(result.cleared, 2);
    assert.equal(todos.length, 3);
  });

  it('clears nothing when nothing is done', () => {
    assert.deepEqual(clearDone(listOf('Buy milk')), { todos: listOf('Buy milk'), cleared: 0 });
    assert.deepEqual(clearDone([]), { todos: [], cleared: 0 });
  });
});

describe('formatTodos', () => {`,
  );
  const cliTests = readFileSync('test/cli.test.mjs', 'utf8');
  writeFileSync(
    'test/cli.test.mjs',
    `${cliTests}
describe('todo CLI, ids and clear', () => {
  it('gives a new todo an id no other todo has, after a removal', () => {
    const file = freshFile();
    for (const text of ['Buy milk', 'Call the bank', 'Book flights']) todo(file, 'add', text);
    todo(file, 'rm', '1');
    assert.equal(todo(file, 'add', 'Renew passport').stdout, 'Added 4: Renew passport');
    todo(file, 'done', '3');
    assert.equal(todo(file, 'list').stdout, '2 [ ] Call the bank\\n3 [x] Book flights\\n4 [ ] Renew passport');
  });

  it('clears the done todos and says how many', () => {
    const file = freshFile();
    assert.equal(todo(file, 'clear').stdout, 'Nothing to clear.');
    for (const text of ['Buy milk', 'Call the bank', 'Book flights']) todo(file, 'add', text);
    todo(file, 'done', '1');
    assert.equal(todo(file, 'clear').stdout, 'Cleared 1 done todo.');
    todo(file, 'done', '2');
    todo(file, 'done', '3');
    assert.equal(todo(file, 'clear').stdout, 'Cleared 2 done todos.');
    assert.equal(todo(file, 'list').stdout, 'No todos.');
  });

  it('refuses arguments after clear', () => {
    const r = todo(freshFile(), 'clear', 'all');
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^usage: todo .*todo clear/m);
  });
});
`,
  );
  step('test/: a regression test for the ids; tests for clearDone and todo clear');

  edit(
    'README.md',
    'node bin/todo.mjs rm <id>         # remove a todo\n',
    'node bin/todo.mjs rm <id>         # remove a todo\nnode bin/todo.mjs clear           # remove every done todo and say how many\n',
  );
  edit(
    'README.md',
    'An unknown id exits',
    'A new todo gets the highest id in the list plus one, so no two todos share an id.\n\nAn unknown id exits',
  );
  step('README.md: clear, and the id rule');

  try {
    const out = execFileSync(process.execPath, ['--test'], { encoding: 'utf8', stdio: 'pipe' });
    step(`node --test -> ${out.match(/^# pass \d+/m)?.[0] ?? 'passed'}`);
  } catch (error) {
    giveUp(`node --test fails after the change:\n\n${error.stdout ?? error}`);
  }
}
