// The todo list as plain data: every function takes the current list and returns a new one,
// never changing its input, so the command-line layer decides when to load and save.

/** @typedef {{ id: number, text: string, done: boolean }} Todo */

/** A mistake by the user (unknown id, empty text): the CLI prints it and exits 1. */
export class TodoError extends Error {
  name = 'TodoError';
}

/**
 * Appends a new, open todo.
 * @param {Todo[]} todos
 * @param {string} text
 * @returns {{ todos: Todo[], todo: Todo }}
 */
export function addTodo(todos, text) {
  const trimmed = text.trim();
  if (!trimmed) throw new TodoError('a todo needs some text');
  const todo = { id: todos.length + 1, text: trimmed, done: false };
  return { todos: [...todos, todo], todo };
}

/**
 * Marks the todo with this id as done.
 * @param {Todo[]} todos
 * @param {number} id
 * @returns {Todo[]}
 */
export function completeTodo(todos, id) {
  findTodo(todos, id);
  return todos.map((t) => (t.id === id ? { ...t, done: true } : t));
}

/**
 * Removes the todo with this id.
 * @param {Todo[]} todos
 * @param {number} id
 * @returns {Todo[]}
 */
export function removeTodo(todos, id) {
  findTodo(todos, id);
  return todos.filter((t) => t.id !== id);
}

/**
 * The list as `todo list` prints it: one line per todo, `<id> [ ] <text>` or `<id> [x] <text>`.
 * @param {Todo[]} todos
 * @returns {string}
 */
export function formatTodos(todos) {
  if (todos.length === 0) return 'No todos.';
  return todos.map((t) => `${t.id} [${t.done ? 'x' : ' '}] ${t.text}`).join('\n');
}

/** @param {Todo[]} todos @param {number} id */
function findTodo(todos, id) {
  const found = todos.find((t) => t.id === id);
  if (!found) throw new TodoError(`no todo with id ${id}`);
  return found;
}
