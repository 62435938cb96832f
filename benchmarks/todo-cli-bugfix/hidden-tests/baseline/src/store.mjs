// Where the list lives: a JSON file, `todo.json` in the current directory unless TODO_FILE
// names another. A missing file is an empty list; a file that is not a list is an error.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** @typedef {import('./todos.mjs').Todo} Todo */

/** The file the CLI reads and writes. */
export function storePath(env = process.env) {
  return resolve(env.TODO_FILE || 'todo.json');
}

/**
 * @param {string} file
 * @returns {Todo[]}
 */
export function loadTodos(file) {
  if (!existsSync(file)) return [];
  const data = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(data)) throw new Error(`${file} does not hold a list of todos`);
  return data;
}

/**
 * @param {string} file
 * @param {Todo[]} todos
 */
export function saveTodos(file, todos) {
  writeFileSync(file, `${JSON.stringify(todos, null, 2)}\n`);
}
