import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { addTodo, completeTodo, formatTodos, removeTodo, TodoError } from '../src/todos.mjs';

/** A list built through the public functions, as the CLI builds it. */
function listOf(...texts) {
  let todos = [];
  for (const text of texts) todos = addTodo(todos, text).todos;
  return todos;
}

describe('addTodo', () => {
  it('numbers todos from 1', () => {
    const todos = listOf('Buy milk', 'Call the bank');
    assert.deepEqual(
      todos.map((t) => t.id),
      [1, 2],
    );
  });

  it('trims the text and starts open', () => {
    const { todo } = addTodo([], '  Water the plants ');
    assert.deepEqual(todo, { id: 1, text: 'Water the plants', done: false });
  });

  it('refuses empty text', () => {
    assert.throws(() => addTodo([], '   '), TodoError);
  });

  it('leaves its input alone', () => {
    const todos = listOf('Buy milk');
    addTodo(todos, 'Call the bank');
    assert.equal(todos.length, 1);
  });
});

describe('completeTodo', () => {
  it('marks only that todo done', () => {
    const todos = completeTodo(listOf('Buy milk', 'Call the bank'), 2);
    assert.deepEqual(
      todos.map((t) => t.done),
      [false, true],
    );
  });

  it('refuses an unknown id', () => {
    assert.throws(() => completeTodo(listOf('Buy milk'), 7), /no todo with id 7/);
  });
});

describe('removeTodo', () => {
  it('removes that todo and keeps the other ids', () => {
    const todos = removeTodo(listOf('Buy milk', 'Call the bank', 'Book flights'), 2);
    assert.deepEqual(
      todos.map((t) => [t.id, t.text]),
      [
        [1, 'Buy milk'],
        [3, 'Book flights'],
      ],
    );
  });

  it('refuses an unknown id', () => {
    assert.throws(() => removeTodo([], 1), TodoError);
  });
});

describe('formatTodos', () => {
  it('prints one line per todo with its state', () => {
    const todos = completeTodo(listOf('Buy milk', 'Call the bank'), 1);
    assert.equal(formatTodos(todos), '1 [x] Buy milk\n2 [ ] Call the bank');
  });

  it('says so when the list is empty', () => {
    assert.equal(formatTodos([]), 'No todos.');
  });
});
