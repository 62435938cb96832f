// Check B, "Baseline tests kept, none weakened" (2, hybrid; this is its automatic part): every
// baseline test still runs under its name, not skipped, and every baseline assertion is still
// in the attempt's test files (whitespace aside). The diff is shown for the reviewer, who judges
// whether a changed assertion was loosened (then the score is 0) or only reformatted.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASELINE, baselineKept, finish, lineDiff, runTests, workspaceCopy } from './lib.mjs';

const MAX = 2;
const ws = workspaceCopy();
console.log(
  'check B: diff -ru <baseline>/test <attempt>/test, then the baseline tests by name and their assertions',
);
const r = runTests(ws);
const kept = baselineKept(ws, r);
for (const file of [...new Set(kept.baseline.map((t) => t.file))].sort()) {
  if (!existsSync(join(ws, file))) {
    console.log(`${file}: deleted`);
    continue;
  }
  const diff = lineDiff(readFileSync(join(BASELINE, file), 'utf8'), readFileSync(join(ws, file), 'utf8'));
  const removed = diff.filter((l) => l.startsWith('-'));
  const added = diff.filter((l) => l.startsWith('+'));
  console.log(`${file}: ${removed.length} lines removed or changed, ${added.length} added`);
  // The removed lines, each run with the lines that took its place.
  let replacing = false;
  for (const line of diff) {
    replacing = line.startsWith('-') || (replacing && line.startsWith('+'));
    if (replacing) console.log(`  ${line}`);
  }
}
console.log(r.summary);
for (const name of kept.missing) console.log(`baseline test missing: ${name}`);
for (const name of kept.skipped) console.log(`baseline test skipped: ${name}`);
for (const name of kept.failing)
  console.log(`baseline test fails (the code's fault or the test's; see check A): ${name}`);
const present = kept.baseline.length - kept.missing.length - kept.skipped.length;
console.log(`baseline tests still there and not skipped: ${present} of ${kept.baseline.length}`);
console.log(
  `baseline assertions still there: ${kept.assertions.length - kept.changed.length} of ${kept.assertions.length}`,
);
for (const a of kept.changed)
  console.log(`  not found (changed or removed): ${a.file}: ${a.text.replace(/\s+/g, ' ')}`);

if (kept.missing.length > 0 || kept.skipped.length > 0)
  finish(0, MAX, 'zero: a baseline test was removed, renamed or skipped');
if (kept.changed.length > 0) {
  finish(1, MAX, 'partial: every baseline test is there, but an assertion changed; review it (loosened: 0)');
}
finish(MAX, MAX, 'full: every baseline test and assertion is still there');
