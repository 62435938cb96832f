// What the scoring checks of todo-cli-bugfix share (evaluator-only, see README.md here).
//
// A check runs with an attempt's final workspace as its working directory and never changes it:
// it works on temp copies of it, without the tool's logs and without this directory. So a check
// can also be run by hand inside an attempt directory:
//   (cd eval-attempts/<model-id>-attempt-<n> && node ../../hidden-tests/check-c-cli-ids.mjs)
// Its output is the evidence; its last line is `SCORE <n>/<max>`, and it exits 0 only for full marks.
import { spawnSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
/** A frozen copy of the package's baseline/, kept identical to it by test/example-checks.test.ts. */
export const BASELINE = join(HERE, 'baseline');
const REPORTER = join(HERE, 'reporter.mjs');

/** In a workspace but not the attempt's work: the tool's files, and these scoring files. */
const NOT_WORK = new Set(['run-log.json', 'run-log.md', 'agent-run.log', 'transcript.jsonl', basename(HERE)]);

const temps = [];
process.on('exit', () => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** A new empty temp directory, removed when the check ends. */
export function tempDir(label) {
  const dir = mkdtempSync(join(tmpdir(), `todo-score-${label}-`));
  temps.push(dir);
  return realpathSync(dir);
}

/** A fresh list file: a path in a new temp directory, not yet created. */
export function freshListFile() {
  return join(tempDir('list'), 'todo.json');
}

/** A copy of the attempt's workspace (the working directory), without the tool's logs and this directory. */
export function workspaceCopy(label = 'ws') {
  const root = process.cwd();
  const dir = tempDir(label);
  cpSync(root, dir, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => !(dirname(src) === root && NOT_WORK.has(basename(src))),
  });
  return dir;
}

/** Runs a program with a clean environment (PATH and HOME, plus `env`); never throws. */
export function run(command, args, { cwd, env = {}, timeout = 30_000 } = {}) {
  const r = spawnSync(command, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir(), ...env },
    encoding: 'utf8',
    timeout,
    maxBuffer: 16 * 1024 * 1024,
  });
  const timedOut = r.error?.code === 'ETIMEDOUT';
  return {
    code: r.status,
    signal: r.signal,
    timedOut,
    error: r.error && !timedOut ? String(r.error) : undefined,
    stdout: r.stdout ?? '',
    stderr: r.stderr ?? '',
  };
}

/** The lines of a program's output, without the final newline. */
export function linesOf(text) {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** Runs `node bin/todo.mjs ...args` in `dir` with the list in `file`. */
export function todo(dir, file, args) {
  return run(process.execPath, ['bin/todo.mjs', ...args], { cwd: dir, env: { TODO_FILE: file } });
}

/** Runs each command line of a session ("add a", "list", "" for none) in turn, as the shell would split it. */
export function session(dir, file, commands) {
  return commands.map((line) => ({ line, ...todo(dir, file, line ? line.split(' ') : []) }));
}

/** One step of a session as a terminal would show it: the command, its output, a non-zero exit. */
export function showStep(step) {
  const out = [`$ todo ${step.line}`.trimEnd()];
  for (const line of linesOf(step.stdout).slice(0, 20)) out.push(`  ${line}`);
  for (const line of linesOf(step.stderr).slice(0, 6)) out.push(`  (stderr) ${line}`);
  if (step.timedOut) out.push('  (timed out)');
  else if (step.code !== 0) out.push(`  (exit ${step.code ?? step.signal})`);
  return out.join('\n');
}

/**
 * Runs `node --test` in `dir`. Returns its exit code, a one-line summary and every test it ran
 * (suites left out): `name` is the path of names "describe > it", `file` relative to `dir`.
 * `listOnly`: a name pattern that matches no test, so each is reported (skipped) but not run.
 */
export function runTests(dir, { listOnly = false } = {}) {
  const events = join(tempDir('events'), 'events.jsonl');
  const r = run(
    process.execPath,
    [
      '--test',
      ...(listOnly ? ['--test-name-pattern=(?!)'] : []),
      `--test-reporter=${pathToFileURL(REPORTER).href}`,
      `--test-reporter-destination=${events}`,
    ],
    { cwd: dir, timeout: 120_000 },
  );
  const records = existsSync(events) ? linesOf(readFileSync(events, 'utf8')).map((l) => JSON.parse(l)) : [];
  const stderr = new Map();
  for (const e of records.filter((e) => e.stderr !== undefined)) {
    stderr.set(e.file, `${stderr.get(e.file) ?? ''}${e.stderr}`);
  }
  const tests = testsOf(
    records.filter((e) => e.stderr === undefined),
    dir,
  );
  const failed = tests.filter((t) => !t.pass);
  const skipped = tests.filter((t) => t.pass && t.skip);
  const status = r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`;
  const summary = `node --test: ${status}; ${tests.length} tests, ${tests.length - failed.length - skipped.length} passed, ${failed.length} failed, ${skipped.length} skipped`;
  const describeFailures = () =>
    failed.map((t) => {
      const why = t.error ?? '';
      const more = t.fileLevel ? (stderr.get(t.absolute) ?? '') : '';
      return `  failed: ${t.file}: ${t.name}${why ? ` -- ${oneLine(why)}` : ''}${more ? ` -- ${oneLine(more)}` : ''}`;
    });
  return { ...r, tests, failed, skipped, passed: r.code === 0 && !r.timedOut, summary, describeFailures };
}

/** Makes a long message one short line. */
export function oneLine(text, max = 200) {
  const flat = String(text).replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}

/**
 * The tests of a run, from the reporter's records. Per file, results come children first, so
 * each one at depth n takes the results deeper than n before it as its children. A top-level
 * result named by its file (older Node wraps each file so) names no test, unless it failed on
 * its own (the file did not load).
 */
function testsOf(records, dir) {
  const byFile = new Map();
  for (const e of records) {
    const items = byFile.get(e.file) ?? [];
    byFile.set(e.file, items);
    const children = items.filter((i) => i.level > e.nesting);
    const isFile = e.nesting === 0 && (e.name === e.file || isAbsolute(e.name));
    for (const child of children) {
      if (!isFile) child.path.unshift(e.name);
      child.level = e.nesting;
    }
    if (isFile && children.length > 0) continue;
    items.push({ ...e, level: e.nesting, path: [e.name], fileLevel: isFile });
  }
  const tests = [];
  for (const items of byFile.values()) {
    for (const i of items.filter((i) => !i.suite)) {
      tests.push({
        name: i.path.join(' > '),
        file: i.file ? relative(dir, i.file) : '(no file)',
        absolute: i.file,
        pass: i.pass,
        skip: i.skip,
        error: i.error,
        fileLevel: i.fileLevel,
      });
    }
  }
  return tests;
}

/**
 * The tests of the baseline (its frozen copy), by name. They are listed, not run (a Node that does
 * not report the tests a name pattern leaves out runs them), as the baseline passes them all.
 */
export function baselineTests() {
  const listed = runTests(BASELINE, { listOnly: true });
  if (listed.tests.length > 0) return listed.tests;
  const r = runTests(BASELINE);
  if (!r.passed || r.tests.length === 0)
    throw new Error(`the baseline copy's tests do not pass: ${r.summary}`);
  return r.tests;
}

/**
 * The names a module of the workspace exports, or `{ error }` when it cannot be imported.
 * It is imported in a child process, so a module that exits or hangs cannot end the check.
 */
export function exportsOf(dir, module) {
  const url = pathToFileURL(join(dir, module)).href;
  const script = `const m = await import(${JSON.stringify(url)}); console.log('\\nEXPORTS ' + JSON.stringify(Object.keys(m)));`;
  const r = run(process.execPath, ['--input-type=module', '-e', script], { cwd: dir });
  const line = linesOf(r.stdout).findLast((l) => l.startsWith('EXPORTS '));
  if (!line) return { error: oneLine(r.stderr || `exit ${r.code}`, 300) };
  return { names: JSON.parse(line.slice('EXPORTS '.length)) };
}

/**
 * Evaluates `body` (an async function body that returns JSON-able data) in a child process,
 * with `m` the workspace's `module` imported. Returns `{ value }` or `{ error }`.
 */
export function evaluate(dir, module, body) {
  const url = pathToFileURL(join(dir, module)).href;
  const script = `const m = await import(${JSON.stringify(url)});
const value = await (async () => { ${body} })();
console.log('\\nVALUE ' + JSON.stringify(value));`;
  const r = run(process.execPath, ['--input-type=module', '-e', script], { cwd: dir });
  const line = linesOf(r.stdout).findLast((l) => l.startsWith('VALUE '));
  if (!line) return { error: oneLine(r.stderr || `exit ${r.code}`, 300) };
  return { value: JSON.parse(line.slice('VALUE '.length)) };
}

/**
 * Replaces `module` in `dir` by a wrapper: the attempt's module, moved beside it, re-exported
 * with some of its functions replaced. `overrides` maps an exported name to the source of its
 * replacement, which can call the attempt's own as `original.<name>`.
 */
export function wrapModule(dir, module, names, overrides, why) {
  const moved = basename(module).replace(/\.mjs$/, '.scoring-original.mjs');
  renameSync(join(dir, module), join(dir, dirname(module), moved));
  const kept = names.filter((n) => !(n in overrides));
  writeFileSync(
    join(dir, module),
    [
      `// Written by a scoring check: ${why}.`,
      `import * as original from './${moved}';`,
      kept.length ? `export { ${kept.join(', ')} } from './${moved}';` : '',
      ...Object.values(overrides),
      '',
    ].join('\n'),
  );
}

/** Puts the bug back: addTodo gives the new todo the id `todos.length + 1` again, the baseline's line. */
export const BUG_BACK = `export function addTodo(todos, text) {
  const result = original.addTodo(todos, text);
  const todo = { ...result.todo, id: todos.length + 1 };
  let at = result.todos.indexOf(result.todo);
  if (at < 0) at = result.todos.findLastIndex((t) => t.id === result.todo.id);
  const list = [...result.todos];
  if (at >= 0) list[at] = todo;
  return { ...result, todos: list, todo };
}`;

/** Ends the check: a verdict line, then `SCORE <n>/<max>` last; exit 0 only for full marks. */
export function finish(score, max, verdict) {
  console.log(verdict);
  console.log(`SCORE ${score}/${max}`);
  process.exit(score >= max ? 0 : 1);
}

/**
 * A line diff of `a` to `b` (longest common subsequence): every line, as ` n: line` when kept,
 * `-n: line` when removed from `a` and `+n: line` when added in `b`, with its line number.
 */
export function lineDiff(a, b) {
  const x = linesOf(a);
  const y = linesOf(b);
  const lcs = Array.from({ length: x.length + 1 }, () => new Array(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--) {
    for (let j = y.length - 1; j >= 0; j--) {
      lcs[i][j] = x[i] === y[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const out = [];
  let [i, j] = [0, 0];
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      out.push(` ${j + 1}: ${y[j]}`);
      [i, j] = [i + 1, j + 1];
    } else if (i < x.length && (j === y.length || lcs[i + 1][j] >= lcs[i][j + 1])) {
      out.push(`-${i + 1}: ${x[i]}`);
      i++;
    } else {
      out.push(`+${j + 1}: ${y[j]}`);
      j++;
    }
  }
  return out;
}

/**
 * Whether the baseline's tests are still in the attempt: each baseline test by its name among
 * the tests `run` (the attempt's `runTests`) ran, and each baseline assertion (`assert...(...)`,
 * whitespace aside) in the test files that ran.
 */
export function baselineKept(dir, attempt) {
  const baseline = baselineTests();
  const byName = new Map(attempt.tests.map((t) => [t.name, t]));
  const missing = baseline.filter((t) => !byName.has(t.name)).map((t) => t.name);
  const skipped = baseline.filter((t) => byName.get(t.name)?.skip).map((t) => t.name);
  const failing = baseline.filter((t) => byName.get(t.name)?.pass === false).map((t) => t.name);
  const testFiles = [...new Set([...attempt.tests.map((t) => t.file), ...baseline.map((t) => t.file)])];
  const attemptText = testFiles
    .filter((f) => existsSync(join(dir, f)))
    .map((f) => normalize(readFileSync(join(dir, f), 'utf8')))
    .join('\n');
  const assertions = [...new Set(baseline.map((t) => t.file))].flatMap((file) =>
    assertionsOf(readFileSync(join(BASELINE, file), 'utf8')).map((text) => ({ file, text })),
  );
  const changed = assertions.filter((a) => !attemptText.includes(normalize(a.text)));
  return { baseline, missing, skipped, failing, assertions, changed };
}

/** Source text without whitespace and without trailing commas, so formatting does not count. */
function normalize(text) {
  return text.replace(/\s+/g, '').replace(/,([)\]}])/g, '$1');
}

/** Every `assert(...)` and `assert.<name>(...)` call of a source text, as written. */
export function assertionsOf(text) {
  const found = [];
  const start = /\bassert(\.\w+)?\(/g;
  for (let m = start.exec(text); m; m = start.exec(text)) {
    let depth = 0;
    let quote = null;
    let end = -1;
    for (let i = m.index + m[0].length - 1; i < text.length && end < 0; i++) {
      const c = text[i];
      if (quote) {
        if (c === '\\') i++;
        else if (c === quote) quote = null;
      } else if (c === "'" || c === '"' || c === '`') quote = c;
      else if (c === '(') depth++;
      else if (c === ')' && --depth === 0) end = i;
    }
    if (end < 0) break;
    found.push(text.slice(m.index, end + 1));
    start.lastIndex = end + 1;
  }
  return found;
}
