import { readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { JudgeSpec } from '../tasks/judge.js';
import { type ScoreInput, type ScoreJson, scoreAttempt, scoreJsonSchema } from '../tasks/score-attempt.js';
import { parseManualCsv, type ScoreRow } from '../tasks/score-sheet.js';
import { AttemptRecords } from './attempt-records.js';
import type { NodeStatus } from './attempt-status.js';
import { attemptDirs, attemptName } from './attempts.js';
import { namedOrAllBenchmarks } from './benchmarks.js';
import { checkFiles } from './check-files.js';
import type { ResolvedConfig } from './config.js';
import { type Diagnostic, errnoCode, UsageError } from './errors.js';
import { diffPreimages, type NodeKey, type Preimage, sha256 } from './keys.js';
import { type Benchmark, loadBenchmark } from './manifest.js';
import type { RunLog } from './run-log.js';
import { criterionProblem, parseScorecard, SCORECARD } from './scorecard.js';
import { type StatePaths, statePaths } from './state.js';
import { readStored } from './stored.js';
import { taskKey } from './task.js';

/** Which complete attempts `score` scores: of these benchmarks (all, if none), harnesses, model and variants. */
export interface ScoreSelection {
  benchmarks: string[];
  harness?: string[];
  model?: string;
  variant?: string[];
}

/** One complete attempt's score: what it is keyed by, whether it is done, and what `score` does. */
export interface AttemptScore {
  /** `<model-id>-attempt-<n>` */
  name: string;
  /** `eval-attempts/<name>` */
  attemptDir: string;
  /** `eval-results/<name>` */
  target: string;
  input: ScoreInput;
  key: NodeKey;
  status: NodeStatus;
  /** skip: scored with today's key; run: score it; merge: only manual.csv changed, no check runs. */
  action: 'skip' | 'run' | 'merge';
  manual: { text: string; rows: ReadonlyMap<string, ScoreRow> } | undefined;
  /** For `merge`: what the score there found (its checks, its judge). */
  reuse: Pick<ScoreJson, 'checks' | 'judge'> | undefined;
}

export interface BenchmarkScores extends BenchmarkScoring {
  scores: AttemptScore[];
}

export interface ScorePlan {
  config: ResolvedConfig;
  benchmarks: BenchmarkScores[];
}

const RESULTS_DIR = 'eval-results';
const MANUAL_CSV = 'manual.csv';

/**
 * The score of every complete attempt selected, with its key and state. Reads only: the package,
 * the attempts' run-logs and eval-results/. Refuses (a UsageError, exit 2) a scorecard, a check or
 * a manual.csv that is wrong, naming each problem where it is.
 */
export async function buildScorePlan(
  config: ResolvedConfig,
  selection: ScoreSelection,
  judge?: JudgeSpec,
): Promise<ScorePlan> {
  const benchmarks: BenchmarkScores[] = [];
  // None named: every benchmark that has attempts (one without is no reason to stop).
  for (const slug of await namedOrAllBenchmarks(config, selection.benchmarks)) {
    const bench = await loadBenchmark(join(config.benchmarksDir, slug));
    const names = await attemptNames(statePaths(bench.dir));
    if (names.length || selection.benchmarks.length)
      benchmarks.push(await planBenchmark(bench, names, selection, judge));
  }
  return { config, benchmarks };
}

/** What every score of a benchmark is made against: its scorecard and its checks. */
export interface BenchmarkScoring {
  bench: Benchmark;
  paths: StatePaths;
  /** `benchmarks/<slug>/eval-results/` */
  results: string;
  scorecard: ScoreInput['scorecard'];
  checks: ScoreInput['checks'];
  /** `--judge`, for this invocation's scores. */
  judge: JudgeSpec | undefined;
}

/**
 * A benchmark's scorecard and checks, each check with its files; refuses (UsageError, exit 2)
 * what cannot be scored against, every problem located.
 */
export async function scoringOf(bench: Benchmark, judge?: JudgeSpec): Promise<BenchmarkScoring> {
  const problems: Diagnostic[] = [];
  const scorecardPath = join(bench.dir, SCORECARD);
  const text = await readFile(scorecardPath, 'utf8').catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) throw new UsageError(`${scorecardPath}: there is no scorecard to score against`);
  const scorecard = parseScorecard(text, relative(process.cwd(), scorecardPath));
  problems.push(...scorecard.diagnostics);
  const checks: ScoreInput['checks'] = [];
  const checked = new Map<string, number>();
  for (const [i, check] of bench.manifest.scoring.checks.entries()) {
    const found = await checkFiles(bench, check, i);
    problems.push(...found.diagnostics);
    // validate's own rule: a criterion of the table, not manual, and one check for it.
    const problem = criterionProblem(check.criterion, scorecard.criteria, checked, false);
    const at = ['scoring', 'checks', i, 'criterion'];
    if (problem) problems.push(bench.source.diagnostic(at, problem.message, problem.code));
    else checked.set(check.criterion, i);
    checks.push({ check, files: found.files });
  }
  if (problems.length)
    throw new UsageError(`${bench.manifestPath}: its attempts cannot be scored as it stands`, problems);
  return {
    bench,
    paths: statePaths(bench.dir),
    results: join(bench.dir, RESULTS_DIR),
    scorecard: { hash: sha256(text), criteria: scorecard.criteria },
    checks,
    judge,
  };
}

/** The names of a benchmark's attempt directories, by model-id and index. */
async function attemptNames(paths: StatePaths): Promise<string[]> {
  const taken = await attemptDirs(paths.attempts);
  return [...taken].flatMap(([id, ns]) => [...ns].sort((a, b) => a - b).map((n) => attemptName(id, n)));
}

async function planBenchmark(
  bench: Benchmark,
  names: readonly string[],
  selection: ScoreSelection,
  judge: JudgeSpec | undefined,
): Promise<BenchmarkScores> {
  const scoring = await scoringOf(bench, judge);
  const { paths } = scoring;
  const records = await AttemptRecords.load(paths, bench.slug);
  const found = await records.getMany(names);
  const scores: AttemptScore[] = [];
  for (const name of names) {
    const record = found.get(name);
    if (!record || !selected(record, selection)) continue;
    scores.push(await attemptScore(scoring, name, record));
  }
  return { ...scoring, scores };
}

/**
 * The score of complete attempt `name`, whose run-log (or its record in the attempt index) is
 * `log`: its key, and whether it is done.
 */
export async function attemptScore(
  scoring: BenchmarkScoring,
  name: string,
  log: Pick<RunLog, 'key' | 'mode' | 'imageDigest'>,
): Promise<AttemptScore> {
  const input: ScoreInput = {
    attemptKey: log.key,
    mode: log.mode,
    imageDigest: log.imageDigest,
    scorecard: scoring.scorecard,
    checks: scoring.checks,
    judge: scoring.judge,
  };
  const target = join(scoring.results, name);
  const manual = await readManual(join(target, MANUAL_CSV), scoring.scorecard.criteria);
  const key = taskKey(scoreAttempt, input);
  const attemptDir = join(scoring.paths.attempts, name);
  return { name, attemptDir, target, input, key, manual, ...(await stateOf(target, key, manual)) };
}

function selected(
  record: { harness: string; model: string | undefined; variant: string | undefined },
  s: ScoreSelection,
) {
  if (s.harness?.length && !s.harness.includes(record.harness)) return false;
  if (s.model !== undefined && record.model !== s.model) return false;
  if (s.variant?.length && !s.variant.includes(record.variant ?? '')) return false;
  return true;
}

/** A person's manual.csv, if there is one; one that is wrong is refused (UsageError), located. */
async function readManual(path: string, criteria: Parameters<typeof parseManualCsv>[2]) {
  const text = await readFile(path, 'utf8').catch((error: unknown) => {
    if (errnoCode(error) === 'ENOENT') return undefined;
    throw error;
  });
  if (text === undefined) return undefined;
  const parsed = parseManualCsv(text, relative(process.cwd(), path), criteria);
  if ('diagnostics' in parsed)
    throw new UsageError(`${path}: not a score sheet to merge`, parsed.diagnostics);
  return { text, rows: parsed.rows };
}

/** Whether the score in `target` is of today's key (and today's manual.csv), and if not why. */
async function stateOf(
  target: string,
  key: NodeKey,
  manual: AttemptScore['manual'],
): Promise<Pick<AttemptScore, 'status' | 'action' | 'reuse'>> {
  const read = await readStored(join(target, 'score.json'), scoreJsonSchema);
  if (!read.ok) {
    const why =
      read.reason === 'absent'
        ? 'not scored yet'
        : `invalid: ${read.problem}; score moves it to ${RESULTS_DIR}/.replaced/ and scores again`;
    return { status: { state: 'missing', why }, action: 'run', reuse: undefined };
  }
  const before = read.value;
  if (before.key !== key.key)
    return {
      status: { state: 'stale', why: explainStale(before.preimage, key.preimage) },
      action: 'run',
      reuse: undefined,
    };
  if (before.manual !== (manual ? sha256(manual.text) : null)) {
    const why = `${MANUAL_CSV} changed: score.csv is merged again, no check runs`;
    return {
      status: { state: 'stale', why },
      action: 'merge',
      reuse: { checks: before.checks, judge: before.judge },
    };
  }
  const unscored = before.unscored.length
    ? `, ${before.unscored.length} of ${before.rows.length} rows unscored`
    : '';
  return {
    status: { state: 'done', why: `scored ${before.total}/${before.max}${unscored}` },
    action: 'skip',
    reuse: undefined,
  };
}

/** What changed since a score was made, in words: the scorecard, which checks, the attempt, the image. */
function explainStale(before: Preimage, after: Preimage): string {
  const parts = new Set<string>();
  for (const field of diffPreimages(before, after)) {
    if (field.startsWith('params.scorecard')) parts.add(`${SCORECARD} changed`);
    else if (field.startsWith('params.checks')) parts.add(checksChanged(before, after));
    else if (field.startsWith('upstream.attempt'))
      parts.add('the attempt is another one (replaced by a rerun)');
    else if (field.startsWith('params.imageDigest') || field.startsWith('params.mode'))
      parts.add('the image changed');
    else if (field.startsWith('params.judge'))
      parts.add('the judge changed (its harness, model or CLI version)');
    else parts.add('the scorer changed');
  }
  return [...parts].join('; ') || 'key changed';
}

function checksChanged(before: Preimage, after: Preimage): string {
  type Shown = { criterion: string };
  const list = (p: Preimage) =>
    ((p.params.checks as Shown[] | undefined) ?? []).map((c) => JSON.stringify(c));
  const [a, b] = [list(before), list(after)];
  const changed = [...new Set([...a.filter((c) => !b.includes(c)), ...b.filter((c) => !a.includes(c))])].map(
    (c) => (JSON.parse(c) as Shown).criterion,
  );
  const names = [...new Set(changed)].map((c) => `"${c}"`);
  return `the check${names.length > 1 ? 's' : ''} of ${names.join(', ')} changed (command, files or limits)`;
}
