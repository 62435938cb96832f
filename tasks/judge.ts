import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { copyEntries, type TreeEntry, walkTree } from '../pipeline/copy-tree.js';
import { errnoCode } from '../pipeline/errors.js';
import { type Criterion, SCORE_COLUMNS } from '../pipeline/scorecard.js';
import { parseManualCsv, renderScoreCsv, type ScoreRow } from './score-sheet.js';

/**
 * A judge (`score --judge <harness> [--judge-model M]`): a harness run one-shot to score the rows
 * no check can, in a sandbox of its own holding the scorecard, a read-only copy of the attempt's
 * workspace and the automatic results; it writes its rows into judge.csv there.
 */

/** Who judges: what a score made with a judge is keyed by, beside the checks. */
export interface JudgeSpec {
  harness: string;
  /** The --judge-model, or undefined for the vendor default. */
  model: string | undefined;
  modelId: string;
  cliVersion: string;
}

/** How a judge ran (`score.json`'s `judge`). */
export interface JudgeRan {
  exitCode: number | null;
  timedOut: boolean;
  durationMs: number;
}

const SANDBOX = { scorecard: 'scorecard.md', attempt: 'attempt', automatic: 'automatic.csv' } as const;
/** What the judge writes in its sandbox. */
const JUDGE_FILE = 'judge.csv';

/** The judge's instruction: which rows, in what form, and that it must not ask. */
export function judgePrompt(criteria: readonly Criterion[]): string {
  const rows = criteria.map((c) => `- ${c.name} (Max ${c.max}, ${c.method})`).join('\n');
  return [
    'You are grading one attempt at a programming task, alone and without asking anything.',
    `In this directory: ${SANDBOX.scorecard} (the criteria and how to score them), ${SANDBOX.attempt}/ (the`,
    `attempt's final workspace: read it, do not change it) and ${SANDBOX.automatic} (what the automatic`,
    'checks found). Score these criteria, which need judgement:',
    rows,
    `Write ${JUDGE_FILE} in this directory: the header ${SCORE_COLUMNS.join(',')}, then one row per`,
    'criterion above with the Criterion exactly as written there, a Score from 0 to Max, Notes with',
    'your reasons, and Evidence naming the files and lines you relied on. CSV: quote a cell that',
    `holds a comma. Then stop.`,
  ].join('\n');
}

/**
 * The sandbox at `dir`: the scorecard, the attempt's workspace (`entries` of `attemptDir`) made
 * read-only, and the rows so far as CSV.
 */
export async function prepareSandbox(
  dir: string,
  scorecard: string,
  attemptDir: string,
  entries: readonly TreeEntry[],
  rows: readonly ScoreRow[],
): Promise<void> {
  await mkdir(dir, { recursive: true });
  await copyFile(scorecard, join(dir, SANDBOX.scorecard));
  await writeFile(join(dir, SANDBOX.automatic), renderScoreCsv(rows));
  const copy = join(dir, SANDBOX.attempt);
  await copyEntries(entries, { from: attemptDir, to: copy });
  await setWritable(copy, entries, false);
}

/** Gives the sandbox's copy of the attempt its write permission back, so that it can be removed. */
export async function releaseSandbox(dir: string): Promise<void> {
  const copy = join(dir, SANDBOX.attempt);
  const listed = await walkTree(copy).catch(() => undefined);
  if (listed) await setWritable(copy, listed.entries, true);
}

async function setWritable(root: string, entries: readonly TreeEntry[], writable: boolean): Promise<void> {
  const modeOf = (dir: boolean) => (writable ? 0o755 : dir ? 0o555 : 0o444);
  // Files first, then directories deepest first: a directory made read-only takes no chmod below it.
  for (const e of entries) if (e.type === 'file') await chmod(join(root, e.path), modeOf(false));
  const dirs = entries.filter((e) => e.type === 'dir').map((e) => e.path);
  for (const d of dirs.sort().reverse()) await chmod(join(root, d), modeOf(true));
  await chmod(root, modeOf(true));
}

/**
 * The judge's rows, by criterion, of those it was asked for; or why there are none (no judge.csv,
 * one that is not CSV of score.csv's columns, a score out of range), which leaves them unscored.
 */
export async function judgeRows(
  dir: string,
  criteria: readonly Criterion[],
): Promise<{ rows: ReadonlyMap<string, ScoreRow> } | { problem: string }> {
  const text = await readFile(join(dir, JUDGE_FILE), 'utf8').catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) return { problem: `wrote no ${JUDGE_FILE}` };
  const parsed = parseManualCsv(text, JUDGE_FILE, criteria);
  if ('diagnostics' in parsed) {
    const [first] = parsed.diagnostics;
    return {
      problem: `${JUDGE_FILE}:${first?.location.line ?? 1}: ${first?.message ?? 'not a score sheet'}`,
    };
  }
  return { rows: parsed.rows };
}
