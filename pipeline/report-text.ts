import { csvCell } from '../tasks/score-sheet.js';
import { formatDuration } from './duration.js';
import type { Report, ReportAttempt, ReportGroup, Usage } from './report-model.js';

/** The terminal is assumed this wide: the table never needs more. */
export const TABLE_WIDTH = 100;

const fixed = (x: number | null | undefined) => (x === null || x === undefined ? '–' : x.toFixed(2));
const usd = (x: number | null) => (x === null ? '–' : x < 1 ? `$${x.toFixed(4)}` : `$${x.toFixed(2)}`);
/** A figure the CLI reported about itself (not measured by the gateway) is marked. */
const mark = (u: Usage) => (u.source === 'cli' || u.source === 'mixed' ? '†' : '');

function scoreCell(g: ReportGroup): string {
  if (!g.score) return 'not scored';
  return `${fixed(g.score.mean)} [${fixed(g.score.ci[0])}, ${fixed(g.score.ci[1])}]`;
}

const COLUMNS: { head: string; cell: (g: ReportGroup) => string }[] = [
  { head: 'done', cell: (g) => `${g.complete}/${g.asked}` },
  { head: 'ok/fail/to', cell: (g) => `${g.outcomes.succeeded}/${g.outcomes.failed}/${g.outcomes.timedOut}` },
  { head: 'scored', cell: (g) => `${g.scores.scored}/${g.complete}` },
  { head: 'score [95% CI]', cell: scoreCell },
  { head: 'pass@1', cell: (g) => fixed(g.pass.at1) },
  { head: 'time', cell: (g) => (g.medianDurationMs === null ? '–' : formatDuration(g.medianDurationMs)) },
  { head: 'cost', cell: (g) => `${usd(g.costPerAttemptUsd)}${mark(g.usage)}` },
  { head: '$/point', cell: (g) => `${usd(g.costPerPointUsd)}${mark(g.usage)}` },
];

/** What a reader needs to know about a group beyond its row: what is missing, stale or partial. */
function notes(g: ReportGroup, includeStale: boolean): string[] {
  const out: string[] = [];
  const id = g.modelId;
  for (const m of g.missing) out.push(`${id}: attempt ${m.n} missing: ${m.why}`);
  if (g.invalid) out.push(`${id}: ${g.invalid} attempt directories without a valid run-log (not attempts)`);
  const not = includeStale ? 'counted, --include-stale' : 'not counted; --include-stale counts them';
  if (g.staleAttempts) out.push(`${id}: ${g.staleAttempts} attempts stale (${not})`);
  if (g.scores.stale)
    out.push(`${id}: ${g.scores.stale} scores stale (${not}); bench-pipeline score remakes them`);
  if (g.scores.unscored)
    out.push(`${id}: ${g.scores.unscored} attempts not scored yet: bench-pipeline score`);
  if (g.scores.partial) {
    const rows = new Set(g.attempts.flatMap((a) => a.score?.unscored ?? []));
    out.push(
      `${id}: ${g.scores.partial} scores over the rows scored; by hand still: ${[...rows].join('; ')}`,
    );
  }
  if (g.score && g.score.n > 1)
    out.push(`${id}: range ${fixed(g.score.min)}–${fixed(g.score.max)} over ${g.score.n} attempts`);
  if (g.pass.atK !== null)
    out.push(`${id}: pass@${g.pass.k} ${fixed(g.pass.atK)} (${g.pass.passed} of ${g.pass.known} passed)`);
  return out;
}

function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}

/**
 * The report for a terminal: per benchmark, a row per model-id sorted by mean score, then what is
 * missing, stale or partial, then the comparisons of variants. At most TABLE_WIDTH columns; bold
 * heads and dim notes only when `color`.
 */
export function renderTable(report: Report, color: boolean): string {
  const bold = (s: string) => (color ? `\x1b[1m${s}\x1b[22m` : s);
  const dim = (s: string) => (color ? `\x1b[2m${s}\x1b[22m` : s);
  const out: string[] = [];
  const cells = report.groups.map((g) => COLUMNS.map((c) => c.cell(g)));
  const widths = COLUMNS.map((c, i) => Math.max(c.head.length, ...cells.map((row) => row[i]!.length)));
  const rest = widths.reduce((s, w) => s + w + 2, 2);
  const idWidth = Math.min(Math.max(8, ...report.groups.map((g) => g.modelId.length)), TABLE_WIDTH - rest);
  const line = (id: string, row: string[]) =>
    `  ${clip(id, idWidth).padEnd(idWidth)}${row.map((c, i) => `  ${i === 0 || i >= 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)}`).join('')}`.trimEnd();
  for (const b of report.benchmarks) {
    const groups = report.groups.filter((g) => g.benchmark === b.benchmark);
    const max =
      b.max === null
        ? ''
        : ` (${b.max} points; pass: at least ${fixed(groups[0]?.pass.threshold ?? 1)} of max)`;
    out.push(bold(`${b.benchmark}${max}`));
    if (b.problem) out.push(`  ${b.problem}`);
    if (!groups.length) {
      out.push('  no attempts', '');
      continue;
    }
    out.push(
      bold(
        line(
          'model-id',
          COLUMNS.map((c) => c.head),
        ),
      ),
    );
    for (const g of groups) out.push(line(g.modelId, cells[report.groups.indexOf(g)]!));
    for (const g of groups)
      for (const n of notes(g, report.includeStale)) out.push(dim(clip(`  ${n}`, TABLE_WIDTH)));
    out.push('');
  }
  if (report.groups.some((g) => mark(g.usage)))
    out.push(dim('† reported by the CLI itself, not measured by the gateway'), '');
  if (report.comparisons.length) out.push(bold('variants, paired by benchmark and attempt'));
  for (const c of report.comparisons) {
    out.push(`  ${c.harness}${c.model ? ` ${c.model}` : ''}, ${c.b} vs ${c.a}: ${c.verdict}`);
    for (const u of c.unpaired)
      out.push(dim(`    unpaired: ${u.benchmark} ${u.variant} attempt ${u.n} (${u.why})`));
  }
  return `${out.join('\n').trimEnd()}\n`;
}

const GROUP_COLUMNS: [string, (g: ReportGroup) => unknown][] = [
  ['benchmark', (g) => g.benchmark],
  ['model_id', (g) => g.modelId],
  ['harness', (g) => g.harness],
  ['model', (g) => g.model],
  ['variant', (g) => g.variant],
  ['asked', (g) => g.asked],
  ['complete', (g) => g.complete],
  ['succeeded', (g) => g.outcomes.succeeded],
  ['failed', (g) => g.outcomes.failed],
  ['timed_out', (g) => g.outcomes.timedOut],
  ['missing', (g) => g.missing.length],
  ['stale_attempts', (g) => g.staleAttempts],
  ['scored', (g) => g.scores.scored],
  ['unscored', (g) => g.scores.unscored],
  ['stale_scores', (g) => g.scores.stale],
  ['partial_scores', (g) => g.scores.partial],
  ['score_n', (g) => g.score?.n ?? 0],
  ['score_mean', (g) => g.score?.mean],
  ['score_ci_low', (g) => g.score?.ci[0]],
  ['score_ci_high', (g) => g.score?.ci[1]],
  ['score_min', (g) => g.score?.min],
  ['score_max', (g) => g.score?.max],
  ['pass_threshold', (g) => g.pass.threshold],
  ['pass_known', (g) => g.pass.known],
  ['pass_at_1', (g) => g.pass.at1],
  ['pass_k', (g) => g.pass.k],
  ['pass_at_k', (g) => g.pass.atK],
  ['median_duration_ms', (g) => g.medianDurationMs],
  ['input_tokens', (g) => g.usage.inputTokens],
  ['output_tokens', (g) => g.usage.outputTokens],
  ['cost_usd', (g) => g.usage.costUsd],
  ['usage_source', (g) => g.usage.source],
  ['cost_per_attempt_usd', (g) => g.costPerAttemptUsd],
  ['cost_per_point_usd', (g) => g.costPerPointUsd],
];

const ATTEMPT_COLUMNS: [string, (a: ReportAttempt) => unknown][] = [
  ['benchmark', (a) => a.benchmark],
  ['model_id', (a) => a.modelId],
  ['attempt', (a) => a.n],
  ['state', (a) => a.state],
  ['outcome', (a) => a.outcome],
  ['stale', (a) => a.stale],
  ['why', (a) => a.why],
  ['exit_code', (a) => a.exitCode],
  ['duration_ms', (a) => a.durationMs],
  ['run_id', (a) => a.runId],
  ['mode', (a) => a.mode],
  ['score_state', (a) => a.score?.state],
  ['total', (a) => a.score?.total],
  ['scored_max', (a) => a.score?.scoredMax],
  ['max', (a) => a.score?.max],
  ['fraction', (a) => a.score?.fraction],
  ['unscored_rows', (a) => a.score?.unscored.length],
  ['pass', (a) => a.score?.pass],
  ['counted', (a) => a.counted],
  ['input_tokens', (a) => a.usage.inputTokens],
  ['output_tokens', (a) => a.usage.outputTokens],
  ['cost_usd', (a) => a.usage.costUsd],
  ['usage_source', (a) => a.usage.source],
];

function csv<T>(columns: [string, (x: T) => unknown][], rows: readonly T[]): string {
  const cell = (v: unknown) => (v === null || v === undefined ? '' : csvCell(String(v)));
  const lines = [
    columns.map(([h]) => h).join(','),
    ...rows.map((r) => columns.map(([, f]) => cell(f(r))).join(',')),
  ];
  return `${lines.join('\n')}\n`;
}

/** CSV: a row per benchmark x model-id, or with `attempts` a row per attempt. Empty cells are unknown, never 0. */
export function renderCsv(report: Report, attempts: boolean): string {
  return attempts
    ? csv(
        ATTEMPT_COLUMNS,
        report.groups.flatMap((g) => g.attempts),
      )
    : csv(GROUP_COLUMNS, report.groups);
}

/** JSON, with its schema and version; the groups' attempts only with `attempts`. */
export function renderJson(report: Report, attempts: boolean): string {
  const value = attempts ? report : { ...report, groups: report.groups.map(({ attempts: _, ...g }) => g) };
  return `${JSON.stringify(value, null, 2)}\n`;
}
