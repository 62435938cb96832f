import { copyFile, mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import type { CheckFile } from '../pipeline/check-files.js';
import { copyEntries, listTree } from '../pipeline/copy-tree.js';
import { formatDuration } from '../pipeline/duration.js';
import { atPath } from '../pipeline/errors.js';
import { exists, writeFileRedacted } from '../pipeline/fs-atomic.js';
import { type Preimage, preimageSchema, sha256 } from '../pipeline/keys.js';
import type { Check } from '../pipeline/manifest.js';
import { type Criterion, SCORECARD } from '../pipeline/scorecard.js';
import { syncFilesystem } from '../pipeline/sync-filesystem.js';
import { type TaskContext, type TaskDefinition, throwIfAborted } from '../pipeline/task.js';
import { RESERVED } from './collect.js';
import {
  type JudgeRan,
  type JudgeSpec,
  judgePrompt,
  judgeRows,
  prepareSandbox,
  releaseSandbox,
} from './judge.js';
import { type CheckSpec, runCheck } from './run-check.js';
import { checkScore, isScoreLine, renderScoreCsv, type ScoreRow } from './score-sheet.js';

/** What an attempt's score is keyed by (see keyInputs). */
export interface ScoreInput {
  /** The attempt's key, from its run-log.json. */
  attemptKey: string;
  mode: 'lite' | 'docker';
  /** The image the attempt ran on (docker: its digest), which its checks run on too. */
  imageDigest: string;
  /** sha256 of scorecard.md, and its criteria table. */
  scorecard: { hash: string; criteria: Criterion[] };
  /** runner.yaml's checks, each with the evaluator-only files it is given. */
  checks: { check: Check; files: CheckFile[] }[];
  /** `--judge`: who scores the manual and hybrid rows that manual.csv does not. */
  judge: JudgeSpec | undefined;
}

export interface ScoreRunInput extends ScoreInput {
  benchmark: string;
  /** The package directory the checks' files are copied from. */
  benchDir: string;
  /** `eval-attempts/<model-id>-attempt-<n>`: read, never written. */
  attemptDir: string;
  /** `eval-results/<model-id>-attempt-<n>`: published by renaming staging to it. */
  target: string;
  staging: string;
  /** Where a score it replaces goes (never deleted): `eval-results/.replaced/`. */
  replaceInto: string;
  runId: string;
  /** A person's manual.csv: its text and the rows it gives. */
  manual: { text: string; rows: ReadonlyMap<string, ScoreRow> } | undefined;
  /** What the score being replaced found, when only manual.csv changed: no check or judge runs again. */
  reuse: Pick<ScoreJson, 'checks' | 'judge'> | undefined;
  /** Runs the judge (see JudgeSpec) in its sandbox: the harness one-shot, its output into `log`. */
  judging: { run(sandbox: string, prompt: string, log: string, tag: string): Promise<JudgeRan> } | undefined;
  /** What every process of its checks carries (see runCheck), as its running marker records. */
  tag: string;
  /** docker: the engine and where the checks' containers come from. */
  container: Omit<NonNullable<CheckSpec['container']>, 'attempt' | 'benchmark'> | undefined;
}

const checkResultSchema = z.object({
  criterion: z.string(),
  exitCode: z.number().nullable(),
  signal: z.string().nullable(),
  timedOut: z.boolean(),
  durationMs: z.number(),
  score: z.number(),
  /** `exit 0`, `SCORE 2/3, exit 0`, `timed out after 10m`. */
  how: z.string(),
  /** The check's output, relative to the results directory: `checks/1-<criterion>.log`. */
  log: z.string(),
  /** Its last lines, for the notes of its row. */
  tail: z.string(),
});

export type CheckResult = z.output<typeof checkResultSchema>;

const SCORE_FORMAT = 1;

const rowSchema = z.object({
  criterion: z.string(),
  score: z.number().nullable(),
  max: z.number(),
  notes: z.string(),
  evidence: z.string(),
});

const judgeSchema = z.object({
  harness: z.string(),
  model: z.string().nullable(),
  modelId: z.string(),
  cliVersion: z.string(),
  exitCode: z.number().nullable(),
  timedOut: z.boolean(),
  durationMs: z.number(),
  /** Its output, relative to the results directory. */
  log: z.string(),
  /** Why it gave no rows (no judge.csv, a wrong one), or null. */
  problem: z.string().nullable(),
  /** The rows it gave. */
  rows: z.array(rowSchema),
});

/** `eval-results/<model-id>-attempt-<n>/score.json`: the score, how each check went, and its key. */
export const scoreJsonSchema = z.object({
  format: z.literal(SCORE_FORMAT),
  benchmark: z.string(),
  attempt: z.string(),
  attemptKey: z.string(),
  /** The sum of the rows scored, of the sum of every row's Max. */
  total: z.number(),
  max: z.number(),
  /** Rows with no score yet (manual ones no one scored, auto ones without a check). */
  unscored: z.array(z.string()),
  rows: z.array(rowSchema),
  checks: z.array(checkResultSchema),
  /** sha256 of the manual.csv merged, or null. */
  manual: z.string().nullable(),
  /** `--judge`: how the judge ran and what it gave; null without one, or with nothing to judge. */
  judge: judgeSchema.nullable(),
  runId: z.string(),
  scoredAt: z.string(),
  key: z.string(),
  preimage: preimageSchema,
});

export type ScoreJson = z.output<typeof scoreJsonSchema>;

export interface Scored {
  dir: string;
  total: number;
  max: number;
  unscored: number;
  /** Where the score it replaced went, if any. */
  replaced: string | undefined;
}

/** The judge's output, in the results directory. */
const JUDGE_LOG = 'judge.log';

/** Staging's subdirectory for the scoring workspaces, removed before it is published. */
const WORK_DIR = '.work';

/** At most this much of a check's output (its end) goes into the notes of its row; the log has all. */
const TAIL_BYTES = 1_000;

/**
 * Scores one complete attempt: every check in a fresh copy of the attempt's final workspace (the
 * tool's own files left out) with the check's files copied in, then the score sheet, published
 * to eval-results/ by one rename of a staging directory that holds all of it.
 */
export const scoreAttempt: TaskDefinition<ScoreInput, Scored, ScoreRunInput> = {
  name: 'score-attempt',
  version: 1,
  keyInputs: ({ attemptKey, mode, imageDigest, scorecard, checks, judge }) => ({
    params: {
      /** Absent without a judge (undefined is left out of the preimage). */
      judge: judge && { harness: judge.harness, model: judge.model ?? null, cliVersion: judge.cliVersion },
      mode,
      imageDigest,
      scorecard: scorecard.hash,
      checks: checks.map(({ check, files }) => ({
        criterion: check.criterion,
        run: check.run,
        timeout: check.timeout,
        network: check.network,
        files: files.map((f) => [f.path, f.mode, f.hash]),
      })),
    },
    upstream: { attempt: attemptKey },
  }),
  async run(input, ctx) {
    const { staging, target } = input;
    await mkdir(join(staging, 'checks'), { recursive: true });
    const results = input.reuse?.checks ?? [];
    if (input.reuse) {
      for (const c of input.reuse.checks) await copyFile(join(target, c.log), join(staging, c.log));
      if (input.reuse.judge)
        await copyFile(join(target, input.reuse.judge.log), join(staging, input.reuse.judge.log));
    } else {
      for (const [i, { check, files }] of input.checks.entries()) {
        throwIfAborted(ctx.signal);
        results.push(await runOne(input, check, files, `checks/${i + 1}.log`, ctx));
      }
    }
    const { criteria } = input.scorecard;
    const manual = (c: Criterion) => input.manual?.rows.get(c.name);
    const judge = input.reuse
      ? input.reuse.judge
      : await runJudge(
          input,
          criteria.map((c) => rowOf(c, results, manual(c))),
        );
    const judged = new Map(judge?.rows.map((r) => [r.criterion, r]));
    const rows = criteria.map((c) =>
      rowOf(
        c,
        results,
        manual(c),
        judged.get(c.name),
        input.judge && { ...input.judge, problem: judge?.problem ?? null },
      ),
    );
    const scored = rows.filter((r) => r.score !== null);
    const record: ScoreJson = {
      format: SCORE_FORMAT,
      benchmark: input.benchmark,
      attempt: basename(input.attemptDir),
      attemptKey: input.attemptKey,
      total: Math.round(scored.reduce((sum, r) => sum + r.score!, 0) * 100) / 100,
      max: rows.reduce((sum, r) => sum + r.max, 0),
      unscored: rows.filter((r) => r.score === null).map((r) => r.criterion),
      rows,
      checks: results,
      manual: input.manual ? sha256(input.manual.text) : null,
      judge: judge ?? null,
      runId: input.runId,
      scoredAt: new Date().toISOString(),
      key: ctx.key.key,
      preimage: ctx.key.preimage as Preimage,
    };
    await writeFileRedacted(join(staging, 'score.csv'), renderScoreCsv(rows), ctx.redactor);
    await writeFileRedacted(
      join(staging, 'score.json'),
      `${JSON.stringify(record, null, 2)}\n`,
      ctx.redactor,
    );
    // The person's file goes along, as it was: score never writes it.
    if (input.manual) await writeFile(join(staging, 'manual.csv'), input.manual.text);
    await syncFilesystem(staging);
    const replaced = await publish(staging, target, input.replaceInto, input.runId);
    return { dir: target, total: record.total, max: record.max, unscored: record.unscored.length, replaced };
  },
};

/** One check, in a scoring workspace of its own that is removed afterwards. */
async function runOne(
  input: ScoreRunInput,
  check: Check,
  files: readonly CheckFile[],
  log: string,
  ctx: TaskContext,
): Promise<CheckResult> {
  const workspace = await scoringWorkspace(input, files);
  try {
    const ran = await runCheck({
      run: check.run,
      workspace,
      timeoutMs: check.timeout,
      network: check.network,
      logPath: join(input.staging, log),
      redactor: ctx.redactor,
      signal: ctx.signal,
      tag: input.tag,
      container: input.container && {
        ...input.container,
        benchmark: input.benchmark,
        attempt: basename(input.attemptDir),
      },
    });
    const criterion = input.scorecard.criteria.find((c) => c.name === check.criterion);
    const { score, how } = checkScore(ran, criterion?.max ?? 0, formatDuration(check.timeout));
    const { exitCode, signal, timedOut, durationMs } = ran;
    const tail = await tailOf(join(input.staging, log));
    return { criterion: check.criterion, exitCode, signal, timedOut, durationMs, score, how, log, tail };
  } finally {
    await rm(join(input.staging, WORK_DIR), { recursive: true, force: true });
  }
}

/**
 * A fresh copy of the attempt's final workspace, without the tool's files (run-logs, agent log,
 * transcript), and the check's evaluator-only files at their paths in the package.
 */
async function scoringWorkspace(input: ScoreRunInput, files: readonly CheckFile[]): Promise<string> {
  // Inside staging, so that what a killed scorer left goes with its staging (see reapMarker).
  const workspace = join(input.staging, WORK_DIR, 'workspace');
  const entries = (await listTree(input.attemptDir)).filter((e) => !RESERVED.includes(e.path));
  await atPath(input.attemptDir, () => copyEntries(entries, { from: input.attemptDir, to: workspace }));
  for (const f of files) {
    const dest = join(workspace, f.path);
    await mkdir(dirname(dest), { recursive: true });
    // The check's own copy wins over a file of that name the agent made.
    await rm(dest, { recursive: true, force: true });
    await copyFile(join(input.benchDir, f.path), dest);
  }
  return workspace;
}

/**
 * `--judge`: the judge, in a sandbox of its own, for the manual and hybrid rows no person has
 * scored; undefined without a judge or with nothing for it to score.
 */
async function runJudge(input: ScoreRunInput, preliminary: readonly ScoreRow[]) {
  const { judge, judging } = input;
  const asked = input.scorecard.criteria.filter(
    (c) => c.method !== 'auto' && !input.manual?.rows.has(c.name),
  );
  if (!judge || !judging || !asked.length) return undefined;
  const sandbox = join(input.staging, WORK_DIR, 'judge');
  const entries = (await listTree(input.attemptDir)).filter((e) => !RESERVED.includes(e.path));
  try {
    await prepareSandbox(sandbox, join(input.benchDir, SCORECARD), input.attemptDir, entries, preliminary);
    const ran = await judging.run(sandbox, judgePrompt(asked), join(input.staging, JUDGE_LOG), input.tag);
    const got = await judgeRows(sandbox, asked);
    return {
      ...judge,
      model: judge.model ?? null,
      ...ran,
      log: JUDGE_LOG,
      problem: 'problem' in got ? got.problem : null,
      rows: 'rows' in got ? [...got.rows.values()] : [],
    };
  } finally {
    await releaseSandbox(sandbox);
    await rm(join(input.staging, WORK_DIR), { recursive: true, force: true });
  }
}

/** The row of criterion `c`: a person's score wins; then the judge's; then its check's; else none. */
function rowOf(
  c: Criterion,
  results: readonly CheckResult[],
  manual: ScoreRow | undefined,
  judged?: ScoreRow,
  judge?: JudgeSpec & { problem: string | null },
): ScoreRow {
  const base = { criterion: c.name, max: c.max };
  if (manual) return { ...base, score: manual.score, notes: manual.notes, evidence: manual.evidence };
  if (judged && judge)
    return {
      ...base,
      score: judged.score,
      notes: `judge ${judge.modelId}: ${judged.notes}`,
      evidence: judged.evidence,
    };
  const result = results.find((r) => r.criterion === c.name);
  if (!result) {
    const failed = judge?.problem ? `; judge ${judge.modelId} gave no score: ${judge.problem}` : '';
    const notes = c.method === 'auto' ? 'not scored: no check in runner.yaml' : `manual${failed}`;
    return { ...base, score: null, notes, evidence: '' };
  }
  const part = c.method === 'hybrid' ? 'automatic part only, the rest is scored by hand; ' : '';
  return {
    ...base,
    score: result.score,
    notes: `${part}${result.how}: ${result.tail}`,
    evidence: result.log,
  };
}

/** The end of a check's log as one line: its last lines, the SCORE line left out. */
async function tailOf(path: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const length = Math.min(size, TAIL_BYTES * 4);
    const { buffer } = await handle.read(Buffer.alloc(length), 0, length, size - length);
    const lines = buffer
      .toString('utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !isScoreLine(l));
    const text = lines.join(' / ');
    return text.length > TAIL_BYTES ? `...${text.slice(-TAIL_BYTES)}` : text;
  } finally {
    await handle.close();
  }
}

/** Renames staging to `target`, moving a score already there into `replaceInto` first. */
async function publish(staging: string, target: string, replaceInto: string, runId: string) {
  await mkdir(dirname(target), { recursive: true });
  let replaced: string | undefined;
  if (await exists(target)) {
    replaced = join(replaceInto, `${basename(target)}.${runId}`);
    await mkdir(replaceInto, { recursive: true });
    await rename(target, replaced);
  }
  await rename(staging, target);
  return replaced;
}
