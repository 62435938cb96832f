import { relative } from 'node:path';
import { formatDuration } from '../duration.js';
import type { AttemptResult, RunSummary } from '../events.js';
import { describeExit, describeFailure } from '../failures.js';

const rel = (p: string) => relative(process.cwd(), p) || '.';

function resultLine(r: AttemptResult): string {
  return `  ${r.attempt.benchmark}/${r.attempt.name}  ${describeExit(r)}, ${formatDuration(r.durationMs)}  -> ${rel(r.dir)}`;
}

/** `$0.0123`, `$4.20`: small amounts keep four decimals. */
export const formatUsd = (usd: number) => `$${usd < 1 ? usd.toFixed(4) : usd.toFixed(2)}`;

/** The final report: what completed and how, what is left, where things are, and what to do next. */
export function renderSummary(s: RunSummary): string {
  const lines: string[] = [];
  const completed = s.succeeded.length + s.failed.length + s.timedOut.length;
  lines.push(
    `run ${s.runId}: ${completed} completed (${s.succeeded.length} succeeded, ${s.failed.length} failed, ` +
      `${s.timedOut.length} timed out), ${s.alreadyDone} already done, ${s.errors.length} not completed` +
      (s.cancelled ? ' (cancelled)' : ''),
  );
  for (const r of [...s.succeeded, ...s.failed, ...s.timedOut]) lines.push(resultLine(r));
  if (s.errors.length) {
    lines.push('not completed (the attempts stay missing; run again to retry):');
    // One line per cause: a refused key stops a whole batch for one reason.
    const byCause = new Map<string, string[]>();
    for (const e of s.errors) {
      const cause = describeFailure(e.failure);
      byCause.set(cause, [...(byCause.get(cause) ?? []), `${e.attempt.benchmark}/${e.attempt.name}`]);
    }
    for (const [cause, attempts] of byCause)
      lines.push(
        attempts.length === 1
          ? `  ${attempts[0]}: ${cause}`
          : `  ${cause}: ${attempts.length} attempts (${attempts.join(', ')})`,
      );
  }
  if (s.spentUsd !== null) lines.push(`model API spend (measured by the gateway): ${formatUsd(s.spentUsd)}`);
  if (s.outputDirs.length) lines.push(`output: ${s.outputDirs.map(rel).join(', ')}`);
  if (s.workspaces.length) {
    // Only those with anything left: collect moved each workspace's files into its attempt (tasks/collect.ts).
    lines.push(
      'temp workspaces kept (files moved into the attempts; what was not collected is kept here: remove when done, or pass --clean):',
    );
    for (const w of s.workspaces) lines.push(`  ${w}`);
  }
  if (s.tempDir) lines.push(`the agents' homes are kept in ${s.tempDir} (remove when done, or pass --clean)`);
  if (s.isolationDeviations.length) lines.push(`isolation deviations: ${s.isolationDeviations.join('; ')}`);
  if (s.isolationBreaches.length) {
    lines.push('isolation breaches (an attempt wrote outside its workspace; see its run-log):');
    for (const b of s.isolationBreaches) lines.push(`  ${b}`);
  }
  if (s.scored !== null) {
    lines.push(`scored ${s.scored} attempts into eval-results/, ${s.scoreErrors.length} not scored`);
    for (const e of s.scoreErrors) lines.push(`  ${e}`);
  } else if (completed > 0)
    lines.push(
      'next: score the attempts into eval-results/ beside each eval-attempts/ directory: bench-pipeline score',
    );
  return `${lines.join('\n')}\n`;
}
