/**
 * The HTML report's plots as inline SVG strings, so the page needs nothing from the network. Each
 * mark carries its meaning by shape and text as well as by style: points are circles, means are
 * diamonds, intervals are lines, and every row is labelled. This is the lower layer of the HTML
 * format, so the escaping lives here and report-html.ts re-exports it.
 */

import type { Comparison, Estimate, ReportGroup } from './report-model.js';

/** The drawing's coordinate width; the page scales it to the window with width:100%. */
const WIDTH = 800;
/** Left of it: the row labels. */
const PLOT_LEFT = 260;
const PLOT_RIGHT = WIDTH - 20;
const ROW = 22;
/** The cost plot's own frame: a vertical score axis on the left instead of row labels. */
const COST_LEFT = 60;
const COST_TOP = 20;
const COST_BOTTOM = 260;
/** Room under the rows for the x axis and its labels. */
const AXIS_ROOM = 40;

/** Text for HTML (and SVG) content and attributes: every character that could open markup or end a quoted value. */
export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** A linear map from [lo, hi] onto the plot's horizontal extent. */
interface Scale {
  lo: number;
  hi: number;
  at(value: number): number;
}

function scale(lo: number, hi: number, left = PLOT_LEFT, right = PLOT_RIGHT): Scale {
  return { lo, hi, at: (v) => left + ((v - lo) / (hi - lo)) * (right - left) };
}

const fixed = (n: number, digits = 2) => n.toFixed(digits);

function svg(id: string, title: string, height: number, body: string): string {
  return `<svg id="${id}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-label="${escapeHtml(title)}"><title>${escapeHtml(title)}</title>${body}</svg>`;
}

/** A plot with nothing to show still renders, with the reason as its only content. */
function emptyPlot(id: string, title: string, message: string): string {
  return svg(id, title, 40, `<text x="10" y="25" class="empty">${escapeHtml(message)}</text>`);
}

/** Gridlines from `top` to the axis at `bottom`, with each tick's label under it. */
function xAxis(
  s: Scale,
  ticks: number[],
  top: number,
  bottom: number,
  format: (v: number) => string,
): string {
  const marks = ticks.map((t) => {
    const x = fixed(s.at(t), 1);
    return `<line class="grid" x1="${x}" x2="${x}" y1="${top}" y2="${bottom}"/><text class="tick" x="${x}" y="${bottom + 16}" text-anchor="middle">${escapeHtml(format(t))}</text>`;
  });
  return `<line class="axis" x1="${s.at(s.lo)}" x2="${s.at(s.hi)}" y1="${bottom}" y2="${bottom}"/>${marks.join('')}`;
}

/** The mean as a diamond, with the interval as a line through it. */
function estimateMarks(s: Scale, y: number, e: Estimate, what: string): string {
  const [lo, hi] = e.ci;
  const x = s.at(e.mean);
  const d = 5;
  const hover = `${what}: mean ${fixed(e.mean)}, 95% CI ${fixed(lo)} to ${fixed(hi)}, n=${e.n}`;
  return (
    `<line class="ci" x1="${fixed(s.at(lo), 1)}" x2="${fixed(s.at(hi), 1)}" y1="${y}" y2="${y}"><title>${escapeHtml(hover)}</title></line>` +
    `<path class="mean" d="M${fixed(x, 1)} ${y - d}l${d} ${d}l${-d} ${d}l${-d} ${-d}z"><title>${escapeHtml(hover)}</title></path>`
  );
}

/** A small circle per value, nudged up or down by index so that equal values stay countable. */
function point(s: Scale, y: number, value: number, index: number, hover: string): string {
  const dy = ((index % 3) - 1) * 4;
  return `<circle class="pt" cx="${fixed(s.at(value), 1)}" cy="${y + dy}" r="3.5"><title>${escapeHtml(hover)}</title></circle>`;
}

function label(y: number, text: string, cls = 'label'): string {
  return `<text class="${cls}" x="${PLOT_LEFT - 10}" y="${y + 4}" text-anchor="end">${escapeHtml(text)}</text>`;
}

/** Plot 1: per benchmark, a row per model-id with each counted attempt's fraction, the mean and its interval. */
export function scoresPlot(groups: ReportGroup[]): string {
  const title = 'Score per attempt, as a fraction of the maximum, with the mean and its 95% interval';
  if (groups.length === 0) return emptyPlot('plot-scores', title, 'no attempts');
  const s = scale(0, 1);
  const benchmarks = [...new Set(groups.map((g) => g.benchmark))];
  let y = 10;
  const rows: string[] = [];
  for (const benchmark of benchmarks) {
    y += ROW;
    rows.push(`<text class="heading" x="10" y="${y + 4}">${escapeHtml(benchmark)}</text>`);
    for (const g of groups.filter((x) => x.benchmark === benchmark)) {
      y += ROW;
      rows.push(label(y, g.modelId), groupMarks(s, y, g));
    }
  }
  const bottom = y + ROW;
  const axis = xAxis(s, [0, 0.25, 0.5, 0.75, 1], 10, bottom, (v) => fixed(v));
  return svg('plot-scores', title, bottom + AXIS_ROOM, axis + rows.join(''));
}

function groupMarks(s: Scale, y: number, g: ReportGroup): string {
  if (!g.score) return `<text class="empty" x="${PLOT_LEFT + 4}" y="${y + 4}">not scored</text>`;
  const counted = g.attempts.filter((a) => a.counted && a.score);
  const points = counted.map((a, i) =>
    point(s, y, a.score!.fraction, i, `${g.modelId} attempt ${a.n}: ${fixed(a.score!.fraction)}`),
  );
  return points.join('') + estimateMarks(s, y, g.score, g.modelId);
}

/** Ticks at a round step (1, 2 or 5 times a power of ten) from 0 past `max`. */
function roundTicks(max: number): number[] {
  const raw = max / 4;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((candidate) => candidate >= raw) ?? raw;
  const ticks: number[] = [];
  for (let t = 0; t < max + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return ticks;
}

/**
 * Plot 2: cost of an attempt against the mean score, a labelled point per group. The score runs
 * up the page, so this plot has its own vertical scale rather than rows.
 */
export function costPlot(groups: ReportGroup[]): string {
  const title = 'Mean cost of an attempt (USD) against the mean score';
  const id = 'plot-cost';
  if (!groups.some((g) => g.costPerAttemptUsd !== null)) {
    return emptyPlot(
      id,
      title,
      'no cost figures (the attempts ran without the gateway and their CLI reported none)',
    );
  }
  const shown = groups.filter((g) => g.costPerAttemptUsd !== null && g.score);
  if (shown.length === 0) return emptyPlot(id, title, 'no group with cost figures has a counted score');
  const ticks = roundTicks(Math.max(...shown.map((g) => g.costPerAttemptUsd!)) || 1);
  const xs = scale(0, ticks.at(-1)!, COST_LEFT, PLOT_RIGHT);
  const ys = (v: number) => COST_BOTTOM - v * (COST_BOTTOM - COST_TOP);
  const yTicks = [0, 0.25, 0.5, 0.75, 1].map(
    (t) =>
      `<line class="grid" x1="${COST_LEFT}" x2="${PLOT_RIGHT}" y1="${ys(t)}" y2="${ys(t)}"/><text class="tick" x="${COST_LEFT - 8}" y="${ys(t) + 4}" text-anchor="end">${fixed(t)}</text>`,
  );
  const axis = xAxis(xs, ticks, COST_TOP, COST_BOTTOM, (v) => `$${v}`);
  const names = `<text class="tick" x="${xs.at(xs.hi / 2)}" y="${COST_BOTTOM + 34}" text-anchor="middle">cost of an attempt</text><text class="tick" x="10" y="12">mean score</text>`;
  const points = shown.map((g) => costPoint(xs.at(g.costPerAttemptUsd!), ys(g.score!.mean), g));
  return svg(id, title, COST_BOTTOM + AXIS_ROOM + 10, axis + yTicks.join('') + names + points.join(''));
}

/** A group's point, labelled on whichever side has room for the label. */
function costPoint(x: number, y: number, g: ReportGroup): string {
  const mark = g.usage.source === 'cli' || g.usage.source === 'mixed' ? '†' : '';
  const name = `${g.benchmark} · ${g.modelId}${mark}`;
  const hover = `${name}: $${g.costPerAttemptUsd!.toFixed(4)} an attempt, mean score ${fixed(g.score!.mean)}`;
  const left = x > (COST_LEFT + PLOT_RIGHT) / 2;
  const at = `x="${fixed(left ? x - 7 : x + 7, 1)}" y="${fixed(y + 4, 1)}" text-anchor="${left ? 'end' : 'start'}"`;
  return `<g class="cost-point"><circle class="pt" cx="${fixed(x, 1)}" cy="${fixed(y, 1)}" r="4"><title>${escapeHtml(hover)}</title></circle><text class="point-label" ${at}>${escapeHtml(name)}</text></g>`;
}

/** Plot 3: per comparison, each pair's difference (b - a), their mean and its interval, around zero. */
export function pairsPlot(comparisons: Comparison[]): string {
  const title = 'Difference of paired attempts, variant b minus variant a, as fractions of the maximum';
  const id = 'plot-pairs';
  if (comparisons.length === 0) return emptyPlot(id, title, 'no variants to compare');
  const plotted = comparisons.filter((c) => c.diff);
  if (plotted.length === 0) return emptyPlot(id, title, 'too few pairs to estimate a difference');
  const s = scale(-1, 1);
  const rows = plotted.map((c, i) => {
    const y = 10 + (i + 1) * ROW * 1.5;
    const name = `${c.harness} ${c.model ?? 'default'}: ${c.b} − ${c.a}`;
    const points = c.pairs.map((p, j) =>
      point(s, y, p.diff, j, `${p.benchmark} #${p.n}: ${c.a} ${fixed(p.a)}, ${c.b} ${fixed(p.b)}`),
    );
    return label(y, name) + points.join('') + estimateMarks(s, y, c.diff!, name);
  });
  const bottom = 10 + (plotted.length + 1) * ROW * 1.5;
  const zero = `<line class="zero" x1="${s.at(0)}" x2="${s.at(0)}" y1="10" y2="${bottom}"/>`;
  const axis = xAxis(s, [-1, -0.5, 0, 0.5, 1], 10, bottom, (v) => (v > 0 ? `+${fixed(v, 1)}` : fixed(v, 1)));
  return svg(id, title, bottom + AXIS_ROOM, axis + zero + rows.join(''));
}
