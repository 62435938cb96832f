import { relative } from 'node:path';
import type { TranscriptSummary } from '../../tasks/harnesses/transcript.js';
import { type AttemptRecord, AttemptRecords } from '../attempt-records.js';
import { INVALID_ATTEMPT } from '../attempt-status.js';
import { attemptDirs, attemptName } from '../attempts.js';
import { namedOrAllBenchmarks } from '../benchmarks.js';
import { loadConfig } from '../config.js';
import { formatDuration } from '../duration.js';
import { messageOf } from '../errors.js';
import type { GatewayUsage } from '../gateway/server.js';
import { describeStored, readJournal } from '../journal.js';
import { isCorrupt, isMarkerAlive, type RunningMarker, readMarkerFiles } from '../markers.js';
import { VersionProbe } from '../probe.js';
import { todaysStates } from '../report.js';
import { formatUsd } from '../reporters/summary.js';
import type { RunLog } from '../run-log.js';
import { buildScorePlan } from '../score-plan.js';
import { statePaths } from '../state.js';
import type { ParsedArgs } from './options.js';

interface ModelStatus {
  modelId: string;
  complete: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  stale: number;
  /** Directories named as attempts without a valid run-log.json: not complete. */
  invalid: number;
  /** The complete attempts' scores in eval-results/, by state (see `plan --score`). */
  scores: { done: number; missing: number; stale: number };
  attempts: {
    n: number;
    outcome: string;
    stale: boolean;
    why: string;
    /** Why its score in eval-results/ is stale, if it is. */
    scoreStale?: string;
    summary: TranscriptSummary | null;
    gateway: RunLog['gateway'] | null;
  }[];
}

interface BenchmarkStatus {
  benchmark: string;
  models: ModelStatus[];
  running: { attempt: string; pid: number; runId: string; startedAt: string; alive: boolean }[];
  /** Marker files that hold no marker: nothing runs there; the next run removes them. */
  corruptMarkers: { path: string; why: string }[];
  recentErrors: { at: string; attempt: string; failure: unknown }[];
  /** Set when today's keys could not be computed (so staleness is unknown). */
  keysUnavailable?: string;
  /** Set when the scores could not be looked at (no scorecard, a check that is wrong). */
  scoresUnavailable?: string;
}

async function benchmarkStatus(
  slug: string,
  config: Awaited<ReturnType<typeof loadConfig>>,
  probe: VersionProbe,
): Promise<BenchmarkStatus> {
  const paths = statePaths(`${config.benchmarksDir}/${slug}`);
  const taken = await attemptDirs(paths.attempts);
  const records = await AttemptRecords.load(paths, slug);
  const logs: Map<string, AttemptRecord | undefined> = await records.getMany(
    [...taken].flatMap(([id, ns]) => [...ns].map((n) => attemptName(id, n))),
  );

  // Today's key of every recorded attempt, to tell which are stale.
  let states = new Map<string, { state: string; why: string }>();
  let keysUnavailable: string | undefined;
  const complete = [...logs.values()].filter((r): r is AttemptRecord => r !== undefined);
  try {
    states = await todaysStates(config, slug, complete, probe);
  } catch (error) {
    keysUnavailable = messageOf(error).split('\n')[0];
  }

  // The state of each complete attempt's score.
  const scores = new Map<string, { state: string; why: string }>();
  let scoresUnavailable: string | undefined;
  if (complete.length) {
    try {
      const plan = await buildScorePlan(config, { benchmarks: [slug] });
      for (const s of plan.benchmarks[0]?.scores ?? []) scores.set(s.name, s.status);
    } catch (error) {
      scoresUnavailable = messageOf(error).split('\n')[0];
    }
  }

  const models: ModelStatus[] = [];
  for (const [id, ns] of [...taken].sort(([a], [b]) => a.localeCompare(b))) {
    const m: ModelStatus = {
      modelId: id,
      complete: 0,
      succeeded: 0,
      failed: 0,
      timedOut: 0,
      stale: 0,
      invalid: 0,
      scores: { done: 0, missing: 0, stale: 0 },
      attempts: [],
    };
    for (const n of [...ns].sort((a, b) => a - b)) {
      const name = attemptName(id, n);
      const log = logs.get(name);
      if (!log) {
        m.invalid++;
        m.attempts.push({
          n,
          outcome: 'invalid',
          stale: false,
          why: `${INVALID_ATTEMPT} (${records.whyInvalid(name) ?? 'not read'})`,
          summary: null,
          gateway: null,
        });
        continue;
      }
      const outcome = log.outcome;
      const state = states.get(name) ?? { state: 'unknown', why: 'key not computed' };
      m.complete++;
      if (outcome === 'succeeded') m.succeeded++;
      else if (outcome === 'failed') m.failed++;
      else if (outcome === 'timed-out') m.timedOut++;
      if (state.state === 'stale') m.stale++;
      const score = scores.get(name);
      if (score?.state === 'done' || score?.state === 'missing' || score?.state === 'stale')
        m.scores[score.state]++;
      m.attempts.push({
        n,
        outcome,
        stale: state.state === 'stale',
        why: state.why,
        ...(score?.state === 'stale' && { scoreStale: score.why }),
        summary: log.summary,
        gateway: log.gateway,
      });
    }
    models.push(m);
  }

  const markerFiles = await readMarkerFiles(paths);
  const corruptMarkers = markerFiles.filter(isCorrupt).map(({ path, why }) => ({ path, why }));
  const running = await Promise.all(
    markerFiles
      .filter((mk): mk is RunningMarker => !isCorrupt(mk))
      .map(async (mk) => ({
        attempt: mk.attempt,
        pid: mk.pid,
        runId: mk.runId,
        startedAt: mk.startedAt,
        alive: await isMarkerAlive(mk),
      })),
  );
  const recentErrors = (await readJournal(paths))
    .filter((e) => e.event === 'error')
    .slice(-5)
    .map(({ at, attempt, failure }) => ({ at, attempt, failure }));
  return {
    benchmark: slug,
    models,
    running,
    corruptMarkers,
    recentErrors,
    ...(keysUnavailable && { keysUnavailable }),
    ...(scoresUnavailable && { scoresUnavailable }),
  };
}

/** `success: 2 turns, 1 tool call, 2000 in / 100 out tokens, $0.0075` */
export function summaryLine(s: TranscriptSummary): string {
  const parts = [
    s.turns === null ? undefined : `${s.turns} turn${s.turns === 1 ? '' : 's'}`,
    `${s.toolCalls} tool call${s.toolCalls === 1 ? '' : 's'}`,
    s.inputTokens === null ? undefined : `${s.inputTokens} in / ${s.outputTokens ?? '?'} out tokens`,
    s.costUsd === null ? undefined : `$${s.costUsd.toFixed(4)}`,
  ];
  return `${s.status}: ${parts.filter(Boolean).join(', ')}`;
}

/** `3 requests (1 retried), 2000 in / 100 out / 0 cache-read / 0 cache-write tokens, 1.2s waiting, $0.0075` */
export function usageLine(g: GatewayUsage): string {
  const retried = g.retries ? ` (${g.retries} retried)` : '';
  const cost =
    g.costUsd === null ? `cost unknown (no price for ${g.unpriced.join(', ')})` : formatUsd(g.costUsd);
  return (
    `${g.requests} request${g.requests === 1 ? '' : 's'}${retried}, ${g.inputTokens} in / ${g.outputTokens} out / ` +
    `${g.cacheReadTokens} cache-read / ${g.cacheWriteTokens} cache-write tokens, ` +
    `${formatDuration(g.modelWaitMs)} waiting, ${cost}`
  );
}

export async function statusCommand({ values, positionals }: ParsedArgs<'status'>): Promise<number> {
  const config = await loadConfig(values.config);
  const probe = await new VersionProbe().load();
  const slugs = await namedOrAllBenchmarks(config, positionals);
  const statuses = [];
  for (const slug of slugs) statuses.push(await benchmarkStatus(slug, config, probe));
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ benchmarks: statuses }, null, 2)}\n`);
    return 0;
  }
  const out: string[] = [];
  for (const s of statuses) {
    out.push(`${relative(process.cwd(), `${config.benchmarksDir}/${s.benchmark}`)}`);
    if (!s.models.length) out.push('  no attempts yet');
    for (const m of s.models) {
      const stale = m.stale ? `, ${m.stale} stale` : '';
      const invalid = m.invalid ? `; ${m.invalid} invalid` : '';
      out.push(
        `  ${m.modelId}: ${m.complete} complete (${m.succeeded} succeeded, ${m.failed} failed, ${m.timedOut} timed out${stale})${invalid}`,
      );
      if (m.complete && !s.scoresUnavailable)
        out.push(`    scores: ${m.scores.done} done, ${m.scores.missing} missing, ${m.scores.stale} stale`);
      for (const a of m.attempts) {
        if (a.outcome === 'invalid') out.push(`    attempt ${a.n} ${a.why}`);
        if (a.summary) out.push(`    attempt ${a.n}: ${summaryLine(a.summary)}`);
        if (a.gateway?.used) out.push(`    attempt ${a.n}: gateway: ${usageLine(a.gateway)}`);
        if (a.stale) out.push(`    attempt ${a.n} stale: ${a.why}`);
        if (a.scoreStale) out.push(`    attempt ${a.n} score stale: ${a.scoreStale}`);
      }
    }
    for (const r of s.running) {
      out.push(
        `  running: ${r.attempt} in pid ${r.pid} (run ${r.runId}, since ${r.startedAt})${r.alive ? '' : ' - owner gone; the next run cleans it up'}`,
      );
    }
    for (const c of s.corruptMarkers)
      out.push(`  corrupt marker ${relative(process.cwd(), c.path)} (${c.why}), cleaned up by the next run`);
    for (const e of s.recentErrors) out.push(`  error ${e.at} ${e.attempt}: ${describeStored(e.failure)}`);
    if (s.keysUnavailable) out.push(`  (staleness unknown: ${s.keysUnavailable})`);
    if (s.scoresUnavailable) out.push(`  (scores unknown: ${s.scoresUnavailable})`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}
