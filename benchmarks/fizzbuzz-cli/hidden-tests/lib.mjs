// What the scoring checks of fizzbuzz-cli share (evaluator-only, see README.md here).
//
// A check runs with an attempt's final workspace as its working directory and never changes it:
// it works on temp copies of it, without the tool's logs and without this directory. So a check
// can also be run by hand inside an attempt directory:
//   (cd eval-attempts/<model-id>-attempt-<n> && node ../../hidden-tests/check-15-lines.mjs)
// Its output is the evidence; its last line is `SCORE <n>/<max>`, and it exits 0 only for full marks.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));

/** In a workspace but not the attempt's work: the tool's files, and these scoring files. */
const NOT_WORK = new Set(['run-log.json', 'run-log.md', 'agent-run.log', 'transcript.jsonl', basename(HERE)]);

const temps = [];
process.on('exit', () => {
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

/** The rules of context.md, for one whole number k. */
export function fizzbuzzValue(k) {
  if (k % 15 === 0) return 'FizzBuzz';
  if (k % 3 === 0) return 'Fizz';
  if (k % 5 === 0) return 'Buzz';
  return String(k);
}

/** The values from 1 to n. */
export function expected(n) {
  return Array.from({ length: n }, (_, i) => fizzbuzzValue(i + 1));
}

/** A copy of the attempt's workspace (the working directory), without the tool's logs and this directory. */
export function workspaceCopy(label = 'ws') {
  const root = process.cwd();
  const dir = realpathSync(mkdtempSync(join(tmpdir(), `fizzbuzz-score-${label}-`)));
  temps.push(dir);
  cpSync(root, dir, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => !(dirname(src) === root && NOT_WORK.has(basename(src))),
  });
  return dir;
}

/** Runs `node ...args` in `cwd` with a clean environment (PATH and HOME); never throws. */
export function node(cwd, args, timeout = 30_000) {
  const r = spawnSync(process.execPath, args, {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? tmpdir() },
    encoding: 'utf8',
    timeout,
    maxBuffer: 16 * 1024 * 1024,
  });
  const timedOut = r.error?.code === 'ETIMEDOUT';
  return { code: r.status, signal: r.signal, timedOut, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

/** The lines of a program's output, without the final newline. */
export function linesOf(text) {
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

/** How a run ended, for the evidence. */
export function ending(r) {
  return r.timedOut ? 'timed out' : `exit ${r.code ?? r.signal}`;
}

/** The first lines of a text, indented, for the evidence. */
export function excerpt(text, lines = 6) {
  const all = linesOf(text);
  const shown = all.slice(0, lines).map((l) => `  ${l}`);
  if (all.length > lines) shown.push(`  ... (${all.length - lines} more lines)`);
  return shown.join('\n');
}

/**
 * The scorecard's failure rule: if `node fizzbuzz.mjs 15` does not run, every auto criterion
 * scores 0. Ends the check with 0 when it does not.
 */
export function requireItRuns(dir, max) {
  const r = node(dir, ['fizzbuzz.mjs', '15']);
  if (r.code === 0) return r;
  console.log(`node fizzbuzz.mjs 15: ${ending(r)}`);
  console.log(excerpt(r.stderr));
  finish(0, max, 'zero: node fizzbuzz.mjs 15 does not run (failure rules: 0 on every auto criterion)');
}

/** Ends the check: a verdict line, then `SCORE <n>/<max>` last; exit 0 only for full marks. */
export function finish(score, max, verdict) {
  console.log(verdict);
  console.log(`SCORE ${score}/${max}`);
  process.exit(score >= max ? 0 : 1);
}
