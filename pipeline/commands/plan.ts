import { relative } from 'node:path';
import { loadConfig, type ResolvedConfig } from '../config.js';
import { buildGraph, buildScoreGraph, type GraphNode, nodeJson } from '../graph.js';
import { describeStored, lastErrors, readJournal } from '../journal.js';
import { shortKey } from '../keys.js';
import { buildPlan, type Plan } from '../plan.js';
import { VersionProbe } from '../probe.js';
import { formatUsd } from '../reporters/summary.js';
import type { ParsedArgs } from './options.js';
import { selectionFrom } from './selection.js';

/**
 * What running the plan would cost: per line, the attempts to run times the mean gateway-measured
 * cost of that line's complete attempts. Lines with no priced history are counted apart.
 */
export function expectedSpend(plan: Plan): { usd: number; priced: number; unknown: number } {
  const spend = { usd: 0, priced: 0, unknown: 0 };
  for (const bp of plan.benchmarks) {
    for (const line of bp.lines) {
      const toRun = line.attempts.filter((a) => a.action !== 'skip').length + line.more;
      if (!toRun) continue;
      const costs = line.attempts.flatMap((a) => {
        const g = a.recorded?.gateway;
        return g?.used && g.costUsd !== null ? [g.costUsd] : [];
      });
      if (!costs.length) {
        spend.unknown += toRun;
        continue;
      }
      spend.usd += (toRun * costs.reduce((a, b) => a + b, 0)) / costs.length;
      spend.priced += toRun;
    }
  }
  return spend;
}

export async function planCommand({ values, positionals }: ParsedArgs<'plan'>): Promise<number> {
  const config = await loadConfig(values.config);
  const probe = await new VersionProbe().load();
  const plan = await buildPlan(config, selectionFrom(positionals, values), { persist: false, probe });
  const rows = buildGraph(plan).nodes;
  // A missing attempt that a run tried: the error it stayed missing with.
  for (const bp of plan.benchmarks) {
    const missing = rows.filter((r) => r.benchmark === bp.bench.slug && r.state === 'missing' && r.attempt);
    // The journal holds a line per attempt run: with none missing, it has nothing to say.
    if (!missing.length) continue;
    const errors = lastErrors(await readJournal(bp.paths));
    for (const r of missing) {
      const e = r.attempt && errors.get(r.attempt);
      if (e) r.why += `; last error (${e.at}): ${describeStored(e.failure)}`;
    }
  }
  const spend = expectedSpend(plan);
  // --score: the score of each complete attempt selected, as `score` would find it.
  const scores = values.score ? await scoreRows(config, positionals, values) : undefined;
  if (values.json) {
    const nodes = rows.map((n) => nodeJson(n, false));
    const scored = scores && { scores: scores.map((n) => nodeJson(n, false)) };
    process.stdout.write(`${JSON.stringify({ nodes, expectedSpend: spend, ...scored }, null, 2)}\n`);
    return 0;
  }
  const out: string[] = [];
  for (const bp of plan.benchmarks) {
    out.push(`${relative(process.cwd(), bp.bench.dir) || '.'} (${bp.mode} mode)`);
    const mine = rows.filter((r) => r.benchmark === bp.bench.slug);
    // Attempt nodes share one state: show the attempt once.
    const shown = mine.filter((r) => r.task !== 'collect' && r.task !== 'write-run-log');
    // A loop, not Math.max(...rows): ten thousand attempts are too many arguments for the stack.
    let width = 0;
    const nameOf = (r: GraphNode) => r.attempt ?? r.task;
    for (const r of shown) width = Math.max(width, nameOf(r).length);
    for (const r of shown) {
      const name = nameOf(r);
      const action = r.action === 'replace' ? '  -> will be replaced' : '';
      out.push(
        `  ${name.padEnd(width)}  ${r.state.padEnd(7)}  ${shortKey(r.key).padEnd(12)}  ${r.why}${action}`,
      );
    }
  }
  const counts = new Map<string, number>();
  for (const r of rows.filter((r) => r.task === 'run-harness'))
    counts.set(r.state, (counts.get(r.state) ?? 0) + 1);
  const toRun = rows.filter((r) => r.task === 'run-harness' && r.action !== 'skip').length;
  out.push(
    `attempts: ${['done', 'missing', 'stale', 'failed'].map((s) => `${counts.get(s) ?? 0} ${s}`).join(', ')}; ` +
      `run would execute ${toRun}`,
  );
  if (toRun > 0) {
    const unknown = spend.unknown
      ? `; ${spend.unknown} attempt${spend.unknown === 1 ? '' : 's'} of models with no priced attempt yet not counted`
      : '';
    out.push(
      `expected spend: ${formatUsd(spend.usd)} (the mean cost of each model's complete attempts)${unknown}`,
    );
  }
  if (scores) {
    out.push('scores:');
    let width = 0;
    for (const r of scores) width = Math.max(width, `${r.benchmark}/${r.attempt}`.length);
    for (const r of scores)
      out.push(
        `  ${`${r.benchmark}/${r.attempt}`.padEnd(width)}  ${r.state.padEnd(7)}  ${shortKey(r.key).padEnd(12)}  ${r.why}`,
      );
    const count = (state: string) => scores.filter((r) => r.state === state).length;
    out.push(
      `scores: ${count('done')} done, ${count('missing')} missing, ${count('stale')} stale; score would score ${scores.length - count('done')}`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
  return 0;
}

async function scoreRows(
  config: ResolvedConfig,
  positionals: string[],
  values: ParsedArgs<'plan'>['values'],
) {
  const { buildScorePlan } = await import('../score-plan.js');
  const plan = await buildScorePlan(config, {
    benchmarks: positionals,
    harness: values.harness,
    model: values.model,
    variant: values.variant,
  });
  return buildScoreGraph(plan).nodes;
}
