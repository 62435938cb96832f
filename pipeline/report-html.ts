/**
 * The report as one self-contained HTML page: a sortable summary, three plots, the problems and a
 * drill-down per attempt. It loads nothing (its Content-Security-Policy forbids any fetch), so it
 * can be mailed, archived or opened from a results directory as it is. Every string that came from
 * disk is escaped, and only the page's own script, pinned by its hash, may run.
 */

import { createHash } from 'node:crypto';
import { formatDuration } from './duration.js';
import type { Comparison, Estimate, Report, ReportAttempt, ReportGroup, Usage } from './report-model.js';
import { costPlot, escapeHtml, pairsPlot, scoresPlot } from './report-svg.js';

export { escapeHtml };

/** Marks a figure the agent's CLI reported about itself, which the gateway did not measure. */
const CLI_MARK = '†';
const CLI_LEGEND = `${CLI_MARK} reported by the CLI, not measured by the gateway (for "mixed", in part).`;

/** Sorts the summary by a clicked header and opens every drill-down for printing. */
const SCRIPT = `
for (const table of document.querySelectorAll('table.sortable')) {
  table.tHead.addEventListener('click', (event) => {
    const th = event.target.closest('th');
    if (!th) return;
    const numeric = th.dataset.type === 'number';
    const dir = th.getAttribute('aria-sort') === 'ascending' ? -1 : 1;
    for (const other of table.tHead.querySelectorAll('th')) other.removeAttribute('aria-sort');
    th.setAttribute('aria-sort', dir === 1 ? 'ascending' : 'descending');
    const body = table.tBodies[0];
    const value = (row) => row.cells[th.cellIndex].dataset.value ?? '';
    const rows = [...body.rows].sort((r, s) => {
      const [a, b] = [value(r), value(s)];
      if (a === '' || b === '') return (a === '') - (b === '');
      return dir * (numeric ? Number(a) - Number(b) : a.localeCompare(b));
    });
    body.append(...rows);
  });
}
window.addEventListener('beforeprint', () => {
  for (const details of document.querySelectorAll('details')) details.open = true;
});
`;

const STYLE = `
:root { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.4; }
body { margin: 0 auto; padding: 0 1rem 2rem; max-width: 90rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; } h3 { font-size: 1rem; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border: 1px solid #bbb; padding: 0.2rem 0.4rem; text-align: left; vertical-align: top; }
#summary td { white-space: nowrap; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
thead th { position: sticky; top: 0; background: #eee; cursor: pointer; white-space: nowrap; }
th[aria-sort="ascending"]::after { content: " ▲"; } th[aria-sort="descending"]::after { content: " ▼"; }
.none { font-style: italic; color: #555; }
svg { width: 100%; max-width: 60rem; height: auto; display: block; font-size: 12px; }
svg .grid { stroke: #ddd; } svg .axis, svg .zero { stroke: #333; } svg .zero { stroke-dasharray: 4 3; }
svg .pt { fill: #4a7ab5; fill-opacity: 0.5; stroke: #1d3b63; }
svg .ci { stroke: #222; stroke-width: 2; } svg .mean { fill: #fff; stroke: #000; stroke-width: 1.5; }
svg .heading { font-weight: bold; } svg .empty { font-style: italic; }
details { border: 1px solid #ccc; margin: 0.3rem 0; padding: 0.2rem 0.5rem; }
summary { cursor: pointer; } dl { display: grid; grid-template-columns: max-content 1fr; gap: 0 1rem; }
dd { margin: 0; } dd, h3, summary, li, p { overflow-wrap: anywhere; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; }
@media print {
  thead th { position: static; } .scroll { overflow: visible; }
  details { break-inside: avoid; }
}
`;

const fraction = (n: number) => n.toFixed(2);
const usd = (n: number) => `$${n < 1 ? n.toFixed(4) : n.toFixed(2)}`;
const none = (text: string) => `<span class="none">${escapeHtml(text)}</span>`;

/** The element id of an attempt's drill-down, and (without n) of its group's heading. */
function anchorId(benchmark: string, modelId: string, n?: number): string {
  return n === undefined ? `group-${benchmark}-${modelId}` : `attempt-${benchmark}-${modelId}-${n}`;
}

const href = (id: string) => `#${escapeHtml(encodeURIComponent(id))}`;

/** A cell whose `data-value` the sort reads; `null` sorts last either way. */
function cell(html: string, value: number | string | null, numeric = typeof value === 'number'): string {
  const data = value === null ? '' : escapeHtml(String(value));
  return `<td${numeric ? ' class="num"' : ''} data-value="${data}">${html}</td>`;
}

const cliMark = (usage: Usage) => (usage.source === 'cli' || usage.source === 'mixed' ? CLI_MARK : '');

function costCell(cost: number | null, usage: Usage): string {
  return cell(cost === null ? none('none') : `${usd(cost)}${cliMark(usage)}`, cost, true);
}

function tokensCell(usage: Usage): string {
  const { inputTokens: i, outputTokens: o } = usage;
  if (i === null && o === null) return cell(none('none'), null, true);
  const text = `${i?.toLocaleString('en-US') ?? '?'} in / ${o?.toLocaleString('en-US') ?? '?'} out`;
  return cell(`${text}${cliMark(usage)}`, (i ?? 0) + (o ?? 0));
}

function scoreCells(score: Estimate | null): string {
  if (!score) return cell(none('not scored'), null, true) + cell('', null, true) + cell('', null, true);
  return (
    cell(fraction(score.mean), score.mean) +
    cell(`${fraction(score.ci[0])}–${fraction(score.ci[1])}`, score.ci[0]) +
    cell(`${fraction(score.min)}–${fraction(score.max)}`, score.min)
  );
}

const passCell = (p: number | null, k?: number) =>
  cell(p === null ? none('unknown') : `${fraction(p)}${k === undefined ? '' : ` (k=${k})`}`, p, true);

const COLUMNS: [string, 'text' | 'number'][] = [
  ['Benchmark', 'text'],
  ['Model-id', 'text'],
  ['Harness', 'text'],
  ['Model', 'text'],
  ['Variant', 'text'],
  ['Complete / asked', 'number'],
  ['Succeeded', 'number'],
  ['Failed', 'number'],
  ['Timed out', 'number'],
  ['Scored', 'number'],
  ['Unscored', 'number'],
  ['Stale', 'number'],
  ['Mean score', 'number'],
  ['95% CI', 'number'],
  ['Min–max', 'number'],
  ['pass@1', 'number'],
  ['pass@k', 'number'],
  ['Median duration', 'number'],
  ['Tokens', 'number'],
  ['Cost', 'number'],
  ['Cost per point', 'number'],
];

function summaryRow(g: ReportGroup): string {
  const text = (s: string | null) => cell(s === null ? none('—') : escapeHtml(s), s);
  const count = (n: number) => cell(String(n), n);
  const cells = [
    cell(`<a href="${href(anchorId(g.benchmark, g.modelId))}">${escapeHtml(g.benchmark)}</a>`, g.benchmark),
    text(g.modelId),
    text(g.harness),
    text(g.model),
    text(g.variant),
    cell(`${g.complete} / ${g.asked}`, g.asked === 0 ? null : g.complete / g.asked),
    count(g.outcomes.succeeded),
    count(g.outcomes.failed),
    count(g.outcomes.timedOut),
    count(g.scores.scored),
    count(g.scores.unscored),
    count(g.scores.stale),
    scoreCells(g.score),
    passCell(g.pass.at1),
    passCell(g.pass.atK, g.pass.k),
    cell(
      g.medianDurationMs === null ? none('—') : formatDuration(g.medianDurationMs),
      g.medianDurationMs,
      true,
    ),
    tokensCell(g.usage),
    costCell(g.costPerAttemptUsd, g.usage),
    costCell(g.costPerPointUsd, g.usage),
  ];
  return `<tr data-model-id="${escapeHtml(g.modelId)}">${cells.join('')}</tr>`;
}

function summaryTable(groups: ReportGroup[]): string {
  const head = COLUMNS.map(([name, type]) => `<th scope="col" data-type="${type}">${name}</th>`).join('');
  return `<div class="scroll"><table id="summary" class="sortable"><thead><tr>${head}</tr></thead>
<tbody>${groups.map(summaryRow).join('\n')}</tbody></table></div>
<p>Scores are fractions of the scorecard's maximum; cost is per counted attempt. Click a header to sort. ${CLI_LEGEND}</p>`;
}

function comparisonItem(c: Comparison): string {
  const p = c.pValue === null ? '' : `, p = ${c.pValue.toPrecision(2)}`;
  const unpaired = c.unpaired.map(
    (u) => `<li>${escapeHtml(`${u.benchmark} #${u.n} (${u.variant}) has no counterpart: ${u.why}`)}</li>`,
  );
  const head = `${c.harness} ${c.model ?? 'default'}: ${c.b} against ${c.a}, ${c.pairs.length} pairs${p}`;
  return `<li>${escapeHtml(head)}: <strong>${escapeHtml(c.verdict)}</strong>${unpaired.length ? `<ul>${unpaired.join('')}</ul>` : ''}</li>`;
}

const list = (items: string[], empty: string) =>
  items.length ? `<ul>${items.join('')}</ul>` : `<p>${none(empty)}</p>`;

function problemsSection(report: Report): string {
  const missing = report.groups.flatMap((g) =>
    g.missing.map((m) => `<li>${escapeHtml(`${g.benchmark} ${g.modelId} #${m.n}: ${m.why}`)}</li>`),
  );
  const problems = report.benchmarks.flatMap((b) => [
    ...(b.problem ? [`<li>${escapeHtml(`${b.benchmark}: ${b.problem}`)}</li>`] : []),
    ...b.recentErrors.map(
      (e) => `<li>${escapeHtml(`${b.benchmark}, recent error: `)}<pre>${escapeHtml(e)}</pre></li>`,
    ),
  ]);
  return `<h2>Missing attempts</h2>${list(missing, 'none missing')}<h2>Benchmark problems</h2>${list(problems, 'none')}`;
}

function field(name: string, value: string | number | null): string {
  return `<dt>${name}</dt><dd>${value === null ? none('—') : escapeHtml(String(value))}</dd>`;
}

function usageText(u: Usage): string {
  const cost = u.costUsd === null ? 'no cost' : usd(u.costUsd);
  return `${u.inputTokens ?? '?'} in / ${u.outputTokens ?? '?'} out tokens, ${cost} (source: ${u.source})`;
}

function scoreTable(score: NonNullable<ReportAttempt['score']>): string {
  const rows = score.rows.map(
    (r) =>
      `<tr><td>${escapeHtml(r.criterion)}</td><td class="num">${r.score === null ? '—' : r.score}</td><td class="num">${r.max}</td><td>${escapeHtml(r.notes)}</td><td>${escapeHtml(r.evidence)}</td></tr>`,
  );
  return `<div class="scroll"><table><thead><tr><th>Criterion</th><th>Score</th><th>Max</th><th>Notes</th><th>Evidence</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

function scoreSummary(a: ReportAttempt): string {
  if (!a.score) return 'not scored';
  const s = a.score;
  const pass = s.pass === null ? 'pass unknown' : s.pass ? 'passed' : 'failed the threshold';
  return `score ${s.state}: ${s.total}/${s.scoredMax} (${fraction(s.fraction)}), ${pass}`;
}

function attemptDetails(a: ReportAttempt): string {
  const state = [a.state, a.outcome, a.stale ? 'stale' : null, a.counted ? 'counted' : 'not counted'];
  const summary = `#${a.n} · ${state.filter((x) => x !== null).join(' · ')} · ${scoreSummary(a)}`;
  const fields = [
    field('State', a.state),
    field('Outcome', a.outcome),
    field('Exit code', a.exitCode),
    field('Duration', a.durationMs === null ? null : formatDuration(a.durationMs)),
    field('Run id', a.runId),
    field('Mode', a.mode),
    field('Image digest', a.imageDigest),
    field('Stale', a.stale ? 'yes' : 'no'),
    field('Why', a.why || null),
    field('Usage', usageText(a.usage)),
  ];
  const s = a.score;
  const scoreNote = s
    ? `${s.why ? `<p>${escapeHtml(s.why)}</p>` : ''}${s.unscored.length ? `<p>Unscored: ${escapeHtml(s.unscored.join(', '))}</p>` : ''}${scoreTable(s)}`
    : '';
  const links = a.links.map((l) => `<li><a href="${escapeHtml(l.href)}">${escapeHtml(l.label)}</a></li>`);
  return `<details id="${escapeHtml(anchorId(a.benchmark, a.modelId, a.n))}"><summary>${escapeHtml(summary)}</summary>
<dl>${fields.join('')}</dl>${scoreNote}${links.length ? `<ul>${links.join('')}</ul>` : ''}</details>`;
}

function attemptsSection(groups: ReportGroup[]): string {
  return groups
    .map(
      (g) =>
        `<h3 id="${escapeHtml(anchorId(g.benchmark, g.modelId))}">${escapeHtml(`${g.benchmark} · ${g.modelId}`)}</h3>${g.attempts.map(attemptDetails).join('\n') || `<p>${none('no attempts')}</p>`}`,
    )
    .join('\n');
}

/** The whole page. Its policy allows inline styles and exactly the script above, and no fetch at all. */
export function renderHtml(report: Report): string {
  const hash = createHash('sha256').update(SCRIPT).digest('base64');
  const policy = `default-src 'none'; style-src 'unsafe-inline'; script-src 'sha256-${hash}'; img-src data:`;
  const stale = report.includeStale
    ? 'Stale attempts are included in the means (--include-stale).'
    : 'Stale attempts are left out of the means.';
  const comparisons = report.comparisons.map(comparisonItem);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${policy}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>bench-pipeline report</title><style>${STYLE}</style></head>
<body><header><h1>bench-pipeline report</h1><p>Generated at ${escapeHtml(report.generatedAt)}. ${stale}</p></header>
<main><h2>Summary</h2>${summaryTable(report.groups)}
<h2>Scores</h2>${scoresPlot(report.groups)}
<p>Circles: a counted attempt's score. Diamond: the mean. Line: its 95% interval.</p>
<h2>Cost and score</h2>${costPlot(report.groups)}<p>${CLI_LEGEND}</p>
<h2>Variants compared</h2>${pairsPlot(report.comparisons)}${list(comparisons, 'no variants to compare')}
${problemsSection(report)}
<h2>Attempts</h2>${attemptsSection(report.groups)}</main>
<script>${SCRIPT}</script></body></html>
`;
}
