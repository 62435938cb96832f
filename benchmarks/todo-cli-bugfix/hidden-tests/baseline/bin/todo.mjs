#!/usr/bin/env node
// The command line: parse the arguments, load the list, apply one change, save, print.
import { loadTodos, saveTodos, storePath } from '../src/store.mjs';
import { addTodo, completeTodo, formatTodos, removeTodo, TodoError } from '../src/todos.mjs';

const USAGE = 'usage: todo add <text...> | todo list | todo done <id> | todo rm <id>';

/** Exit 2: the command line itself is wrong. */
function usage(problem) {
  if (problem) console.error(`todo: ${problem}`);
  console.error(USAGE);
  process.exit(2);
}

/** A todo id is a positive whole number. */
function parseId(arg) {
  if (arg === undefined) usage('missing id');
  const id = Number(arg);
  if (!Number.isInteger(id) || id < 1) usage(`not an id: ${arg}`);
  return id;
}

const [command, ...args] = process.argv.slice(2);
const file = storePath();

try {
  switch (command) {
    case 'add': {
      const { todos, todo } = addTodo(loadTodos(file), args.join(' '));
      saveTodos(file, todos);
      console.log(`Added ${todo.id}: ${todo.text}`);
      break;
    }
    case 'list':
      console.log(formatTodos(loadTodos(file)));
      break;
    case 'done': {
      const id = parseId(args[0]);
      saveTodos(file, completeTodo(loadTodos(file), id));
      console.log(`Done ${id}`);
      break;
    }
    case 'rm': {
      const id = parseId(args[0]);
      saveTodos(file, removeTodo(loadTodos(file), id));
      console.log(`Removed ${id}`);
      break;
    }
    default:
      usage(command === undefined ? undefined : `unknown command: ${command}`);
  }
} catch (error) {
  if (!(error instanceof TodoError)) throw error;
  console.error(`todo: ${error.message}`);
  process.exit(1);
}
