import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const BIN = fileURLToPath(new URL('../bin/todo.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'todo-cli-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
/** A fresh list file for each test, so tests do not see each other's todos. */
function freshFile() {
  files += 1;
  return join(dir, `todo-${files}.json`);
}

/** Runs the CLI against `file`; returns its exit code and trimmed output. */
function todo(file, ...args) {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, TODO_FILE: file },
  });
  return { code: r.status, stdout: r.stdout.trim(), stderr: r.stderr.trim() };
}

describe('todo CLI', () => {
  it('adds, completes, lists and removes', () => {
    const file = freshFile();
    assert.equal(todo(file, 'add', 'Buy', 'milk').stdout, 'Added 1: Buy milk');
    assert.equal(todo(file, 'add', 'Call the bank').stdout, 'Added 2: Call the bank');
    assert.equal(todo(file, 'done', '1').stdout, 'Done 1');
    assert.equal(todo(file, 'list').stdout, '1 [x] Buy milk\n2 [ ] Call the bank');
    assert.equal(todo(file, 'rm', '2').stdout, 'Removed 2');
    assert.equal(todo(file, 'list').stdout, '1 [x] Buy milk');
  });

  it('keeps the list as JSON in TODO_FILE', () => {
    const file = freshFile();
    todo(file, 'add', 'Buy milk');
    assert.deepEqual(JSON.parse(readFileSync(file, 'utf8')), [{ id: 1, text: 'Buy milk', done: false }]);
  });

  it('prints an empty list', () => {
    assert.equal(todo(freshFile(), 'list').stdout, 'No todos.');
  });

  it('exits 1 for an unknown id', () => {
    const r = todo(freshFile(), 'done', '4');
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'todo: no todo with id 4');
  });

  it('exits 2 with the usage for a bad command line', () => {
    for (const args of [[], ['frobnicate'], ['done'], ['rm', 'two']]) {
      const r = todo(freshFile(), ...args);
      assert.equal(r.code, 2, args.join(' '));
      assert.match(r.stderr, /^usage: todo /m);
    }
  });
});
