import { join, relative } from 'node:path';
import { scoreJsonSchema } from '../tasks/score-attempt.js';
import { type AttemptRecord, AttemptRecords } from './attempt-records.js';
import type { NodeStatus } from './attempt-status.js';
import { attemptDirs, attemptName, parseAttemptName } from './attempts.js';
import { namedOrAllBenchmarks } from './benchmarks.js';
import { selectionFrom } from './commands/selection.js';
import type { ResolvedConfig } from './config.js';
import { messageOf } from './errors.js';
import { describeStored, lastErrors, readJournal } from './journal.js';
import { loadBenchmark } from './manifest.js';
import { buildPlan } from './plan.js';
import type { VersionProbe } from './probe.js';
import { compareVariants } from './report-compare.js';
import {
  REPORT_SCHEMA,
  REPORT_VERSION,
  type Report,
  type ReportAttempt,
  type ReportGroup,
  type Usage,
} from './report-model.js';
import { estimate, mean, median, passAtK, seedOf } from './report-stats.js';
import { type AttemptScore, buildScorePlan } from './score-plan.js';
import { statePaths } from './state.js';
import { readStored } from './stored.js';

export interface ReportOptions {
  benchmarks: string[];
  harness?: string[];
  model?: string;
  variant?: string[];
  includeStale: boolean;
  /** Links in the report are relative to this directory. */
  base: string;
  probe: VersionProbe;
}

/**
 * Today's state of each complete attempt (stale or not, and why), from the same plan `plan`
 * makes, over the lines the attempts on disk are of. Throws when the keys cannot be computed.
 */
export async function todaysStates(
  config: ResolvedConfig,
  slug: string,
  records: Iterable<AttemptRecord>,
  probe: VersionProbe,
): Promise<Map<string, NodeStatus>> {
  const lines = new Map<
    string,
    { harness: string; model: string | undefined; variant: string | undefined }
  >();
  for (const r of records)
    lines.set(JSON.stringify([r.harness, r.model, r.variant]), {
      harness: r.harness,
      model: r.model,
      variant: r.variant,
    });
  const states = new Map<string, NodeStatus>();
  if (!lines.size) return states;
  const selection = { ...selectionFrom([slug], {}), lines: [...lines.values()] };
  const plan = await buildPlan(config, selection, { persist: false, probe });
  for (const line of plan.benchmarks[0]?.lines ?? [])
    for (const a of line.attempts) states.set(a.ref.name, a.status);
  return states;
}

function usageOf(r: AttemptRecord): Usage {
  if (r.gateway?.used)
    return {
      inputTokens: r.gateway.inputTokens,
      outputTokens: r.gateway.outputTokens,
      costUsd: r.gateway.costUsd,
      source: 'gateway',
    };
  const s = r.summary;
  if (s && (s.inputTokens !== null || s.costUsd !== null))
    return { inputTokens: s.inputTokens, outputTokens: s.outputTokens, costUsd: s.costUsd, source: 'cli' };
  return NO_USAGE;
}

const NO_USAGE: Usage = { inputTokens: null, outputTokens: null, costUsd: null, source: 'none' };

/** The sum of some attempts' usage; a figure is null when any attempt lacks it. */
export function sumUsage(us: readonly Usage[]): Usage {
  const withFigures = us.filter((u) => u.source !== 'none');
  if (!withFigures.length || withFigures.length < us.length) return { ...NO_USAGE, source: 'none' };
  const add = (pick: (u: Usage) => number | null) =>
    us.some((u) => pick(u) === null) ? null : us.reduce((s, u) => s + pick(u)!, 0);
  const sources = new Set(us.map((u) => u.source));
  return {
    inputTokens: add((u) => u.inputTokens),
    outputTokens: add((u) => u.outputTokens),
    costUsd: add((u) => u.costUsd),
    source: sources.size === 1 ? us[0]!.source : 'mixed',
  };
}

async function readScore(s: AttemptScore, pass: number): Promise<ReportAttempt['score']> {
  if (s.status.state === 'missing') return null;
  const read = await readStored(join(s.target, 'score.json'), scoreJsonSchema);
  if (!read.ok) return null;
  const j = read.value;
  const scoredMax = j.rows.reduce((m, r) => m + (r.score === null ? 0 : r.max), 0);
  const open = j.max - scoredMax;
  return {
    state: s.status.state === 'stale' ? 'stale' : 'done',
    why: s.status.why,
    total: j.total,
    scoredMax,
    max: j.max,
    fraction: scoredMax ? j.total / scoredMax : 0,
    unscored: j.unscored,
    // Certain either way only when the rows not scored yet cannot change it.
    pass: j.total >= pass * j.max ? true : j.total + open < pass * j.max ? false : null,
    rows: j.rows,
  };
}

/** The report of the selected benchmarks, read from disk: attempts, their index, journal and eval-results/. */
export async function buildReport(config: ResolvedConfig, o: ReportOptions): Promise<Report> {
  const report: Report = {
    schema: REPORT_SCHEMA,
    version: REPORT_VERSION,
    generatedAt: new Date().toISOString(),
    includeStale: o.includeStale,
    benchmarks: [],
    groups: [],
    comparisons: [],
  };
  for (const slug of await namedOrAllBenchmarks(config, o.benchmarks)) {
    const bench = await loadBenchmark(join(config.benchmarksDir, slug));
    const paths = statePaths(bench.dir);
    const taken = await attemptDirs(paths.attempts);
    const journal = await readJournal(paths);
    const errors = lastErrors(journal);
    if (!taken.size && !errors.size && !o.benchmarks.length) continue;
    const records = await AttemptRecords.load(paths, slug);
    const logs = await records.getMany(
      [...taken].flatMap(([id, ns]) => [...ns].map((n) => attemptName(id, n))),
    );
    const complete = [...logs.values()].filter((r): r is AttemptRecord => r !== undefined);

    const problems: string[] = [];
    let states = new Map<string, NodeStatus>();
    try {
      states = await todaysStates(config, slug, complete, o.probe);
    } catch (error) {
      problems.push(`staleness unknown: ${messageOf(error).split('\n')[0]}`);
    }
    const scores = new Map<string, AttemptScore>();
    let max: number | null = null;
    try {
      const plan = await buildScorePlan(config, { benchmarks: [slug] });
      const b = plan.benchmarks[0];
      if (b) max = b.scorecard.criteria.reduce((m, c) => m + c.max, 0);
      for (const s of b?.scores ?? []) scores.set(s.name, s);
    } catch (error) {
      problems.push(`scores unknown: ${messageOf(error).split('\n')[0]}`);
    }
    report.benchmarks.push({
      benchmark: slug,
      max,
      problem: problems.join('; ') || null,
      recentErrors: journal
        .filter((e) => e.event === 'error')
        .slice(-5)
        .map((e) => `${e.at} ${e.attempt}: ${describeStored(e.failure)}`),
    });

    // Every model-id with an attempt directory or a journalled error, filtered by the selection.
    const ids = new Map<string, Set<number>>(taken);
    for (const name of errors.keys()) {
      const p = parseAttemptName(name);
      if (p) ids.set(p.modelId, (ids.get(p.modelId) ?? new Set()).add(p.n));
    }
    for (const [id, ns] of [...ids].sort(([a], [b]) => a.localeCompare(b))) {
      const first = [...ns].map((n) => logs.get(attemptName(id, n))).find(Boolean);
      if (!selected(first, o)) continue;
      // Asked: the package's default number, or as many as were made.
      const asked = Math.max(bench.manifest.attempts_default, ...(taken.get(id) ?? []));
      const attempts: ReportAttempt[] = [];
      for (let n = 1; n <= Math.max(asked, ...ns); n++) {
        const name = attemptName(id, n);
        const dir = join(paths.attempts, name);
        const r = logs.get(name);
        if (!taken.get(id)?.has(n)) {
          if (n > asked) continue;
          const e = errors.get(name);
          attempts.push(absent(slug, id, n, 'missing', e ? describeStored(e.failure) : 'not run yet'));
          continue;
        }
        if (!r) {
          const why = records.whyInvalid(name) ?? 'no valid run-log.json';
          attempts.push(absent(slug, id, n, 'invalid', why));
          continue;
        }
        const state = states.get(name);
        const s = scores.get(name);
        const score = s ? await readScore(s, config.report.pass) : null;
        const stale = state?.state === 'stale';
        const links = [
          { label: 'run-log.md', href: join(dir, 'run-log.md') },
          { label: 'run-log.json', href: join(dir, 'run-log.json') },
          { label: 'agent-run.log', href: join(dir, 'agent-run.log') },
          ...(s && score
            ? [
                { label: 'score.csv', href: join(s.target, 'score.csv') },
                ...score.rows
                  .filter((row) => row.evidence.startsWith('checks/'))
                  .map((row) => ({ label: row.evidence, href: join(s.target, row.evidence) })),
              ]
            : []),
        ].map((l) => ({ label: l.label, href: relative(o.base, l.href).split('\\').join('/') }));
        attempts.push({
          benchmark: slug,
          modelId: id,
          n,
          state: 'complete',
          outcome: r.outcome,
          stale,
          why: state?.why ?? 'staleness unknown',
          exitCode: r.exitCode,
          durationMs: r.durationMs,
          runId: r.runId,
          mode: r.mode,
          imageDigest: r.imageDigest,
          usage: usageOf(r),
          score,
          counted: score !== null && (o.includeStale || (score.state === 'done' && !stale)),
          links,
        });
      }
      report.groups.push(groupOf(slug, id, first, asked, attempts, config.report));
    }
  }
  report.groups.sort(
    (a, b) =>
      a.benchmark.localeCompare(b.benchmark) ||
      (b.score?.mean ?? -1) - (a.score?.mean ?? -1) ||
      a.modelId.localeCompare(b.modelId),
  );
  report.comparisons = compareVariants(report.groups);
  return report;
}

function selected(r: AttemptRecord | undefined, o: ReportOptions): boolean {
  if (!r) return !o.harness?.length && o.model === undefined && !o.variant?.length;
  if (o.harness?.length && !o.harness.includes(r.harness)) return false;
  if (o.model !== undefined && r.model !== o.model) return false;
  if (o.variant?.length && !o.variant.includes(r.variant ?? '')) return false;
  return true;
}

function absent(benchmark: string, modelId: string, n: number, state: 'missing' | 'invalid', why: string) {
  return {
    benchmark,
    modelId,
    n,
    state,
    outcome: null,
    stale: false,
    why,
    exitCode: null,
    durationMs: null,
    runId: null,
    mode: null,
    imageDigest: null,
    usage: NO_USAGE,
    score: null,
    counted: false,
    links: [],
  } satisfies ReportAttempt;
}

function groupOf(
  benchmark: string,
  modelId: string,
  r: AttemptRecord | undefined,
  asked: number,
  attempts: ReportAttempt[],
  settings: ResolvedConfig['report'],
): ReportGroup {
  const complete = attempts.filter((a) => a.state === 'complete');
  const counted = complete.filter((a) => a.counted);
  const count = (p: (a: ReportAttempt) => boolean) => complete.filter(p).length;
  const rows = new Map<string, { max: number; scores: number[] }>();
  for (const a of counted)
    for (const row of a.score!.rows) {
      const c = rows.get(row.criterion) ?? { max: row.max, scores: [] };
      if (row.score !== null) c.scores.push(row.score);
      rows.set(row.criterion, c);
    }
  const known = counted.filter((a) => a.score!.pass !== null);
  const passed = known.filter((a) => a.score!.pass).length;
  const usage = sumUsage(counted.map((a) => a.usage));
  const points = counted.reduce((s, a) => s + a.score!.total, 0);
  return {
    benchmark,
    modelId,
    harness: r?.harness ?? null,
    model: r?.model ?? null,
    variant: r?.variant ?? null,
    asked,
    complete: complete.length,
    outcomes: {
      succeeded: count((a) => a.outcome === 'succeeded'),
      failed: count((a) => a.outcome === 'failed'),
      timedOut: count((a) => a.outcome === 'timed-out'),
    },
    missing: attempts.filter((a) => a.state === 'missing').map((a) => ({ n: a.n, why: a.why })),
    invalid: attempts.filter((a) => a.state === 'invalid').length,
    staleAttempts: count((a) => a.stale),
    scores: {
      scored: count((a) => a.score?.state === 'done'),
      unscored: count((a) => a.score === null),
      stale: count((a) => a.score?.state === 'stale'),
      partial: count((a) => (a.score?.unscored.length ?? 0) > 0),
    },
    score: estimate(
      counted.map((a) => a.score!.fraction),
      seedOf(`${benchmark}/${modelId}`),
    ),
    criteria: [...rows].map(([criterion, c]) => ({
      criterion,
      max: c.max,
      n: c.scores.length,
      mean: c.scores.length ? mean(c.scores) : null,
    })),
    pass: {
      threshold: settings.pass,
      known: known.length,
      passed,
      at1: passAtK(known.length, passed, 1),
      atK: passAtK(known.length, passed, settings.k),
      k: settings.k,
    },
    medianDurationMs: median(complete.map((a) => a.durationMs!)),
    usage,
    costPerAttemptUsd: usage.costUsd === null || !counted.length ? null : usage.costUsd / counted.length,
    costPerPointUsd: usage.costUsd === null || !points ? null : usage.costUsd / points,
    attempts,
  };
}
