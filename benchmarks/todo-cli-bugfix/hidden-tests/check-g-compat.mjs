// Check G, "Existing behaviour and file format unchanged" (2): a list file as the baseline wrote
// it, then the same commands on the baseline (its frozen copy) and on the attempt, compared.
// Full: the same output and exit code for each (usage lines aside, which now name `clear`), and
// the same file afterwards, byte for byte. Partial (1): the old list loads and is saved in the
// baseline's format, but an exit code or an error message differs. Zero: the old list does not
// load as before, or the file is saved in another format (failure rules).
import { readFileSync, writeFileSync } from 'node:fs';
import { BASELINE, finish, freshListFile, linesOf, session, showStep, workspaceCopy } from './lib.mjs';

const MAX = 2;
const OLD_LIST = '[{"id":1,"text":"Old","done":true},{"id":2,"text":"Older","done":false}]';
const COMMANDS = ['list', 'done 9', 'rm x', 'frobnicate', '', 'add New'];

/** The commands on a fresh list file holding OLD_LIST, in `dir`; and the file afterwards. */
function play(dir) {
  const file = freshListFile();
  writeFileSync(file, OLD_LIST);
  const steps = session(dir, file, COMMANDS);
  return { steps, saved: readFileSync(file, 'utf8') };
}

const ws = workspaceCopy();
console.log(
  `check G: TODO_FILE holds ${OLD_LIST}; then ${COMMANDS.map((c) => `"${`todo ${c}`.trim()}"`).join(', ')}`,
);
const baseline = play(BASELINE);
const attempt = play(ws);

/** stderr without the usage lines: the usage names `clear` now, the rest must stay. */
const errors = (step) => linesOf(step.stderr).filter((l) => !l.startsWith('usage: '));
const hasUsage = (step) => linesOf(step.stderr).some((l) => l.startsWith('usage: todo '));
let [loads, exits, messages] = [true, true, true];
for (const [i, step] of attempt.steps.entries()) {
  const before = baseline.steps[i];
  console.log(showStep(step));
  const notes = [];
  if (step.stdout !== before.stdout) {
    notes.push(`stdout: the baseline prints ${JSON.stringify(before.stdout)}`);
    if (step.line === 'list' || step.line === 'add New') loads = false;
    else messages = false;
  }
  if (step.code !== before.code) {
    notes.push(`exit: the baseline exits ${before.code}`);
    exits = false;
  }
  if (errors(step).join('\n') !== errors(before).join('\n') || hasUsage(step) !== hasUsage(before)) {
    notes.push(`stderr: the baseline prints ${JSON.stringify(before.stderr.trim())}`);
    messages = false;
  }
  for (const note of notes) console.log(`  differs from the baseline, ${note}`);
}
const format = attempt.saved === baseline.saved;
console.log(
  `the file afterwards ${format ? 'is byte for byte what the baseline writes' : 'differs from what the baseline writes:'}`,
);
if (!format)
  console.log(`  attempt:  ${JSON.stringify(attempt.saved)}\n  baseline: ${JSON.stringify(baseline.saved)}`);

if (!loads || !format) finish(0, MAX, 'zero: a list the baseline wrote does not load and save as before');
if (!exits || !messages)
  finish(1, MAX, 'partial: the old list loads and saves as before, but an exit code or a message differs');
finish(MAX, MAX, 'full: the same output, exit codes and file as the baseline');
