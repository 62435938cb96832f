import type { Comparison, ReportGroup } from './report-model.js';
import { estimate, seedOf, signTest } from './report-stats.js';

/** Fewer pairs than this give no interval or p-value: a sign test over 4 pairs cannot reach p < 0.05. */
export const MIN_PAIRS = 5;

/** The name a variant is shown by; an attempt line without one is the harness's own configuration. */
const variantName = (v: string | null) => v ?? '(no variant)';

const fixed = (x: number) => x.toFixed(2);

/**
 * Every two variants of one harness and model, attempt n of benchmark B of one against attempt
 * n of B of the other: the difference of their scores (b - a, as fractions of max).
 */
export function compareVariants(groups: readonly ReportGroup[]): Comparison[] {
  const lines = new Map<string, ReportGroup[]>();
  for (const g of groups) {
    if (g.harness === null) continue;
    const key = JSON.stringify([g.harness, g.model]);
    lines.set(key, [...(lines.get(key) ?? []), g]);
  }
  const comparisons: Comparison[] = [];
  for (const line of lines.values()) {
    const variants = [...new Set(line.map((g) => variantName(g.variant)))].sort();
    for (let i = 0; i < variants.length; i++)
      for (let j = i + 1; j < variants.length; j++) {
        const of = (v: string) => line.filter((g) => variantName(g.variant) === v);
        comparisons.push(compare(line[0]!, variants[i]!, variants[j]!, of(variants[i]!), of(variants[j]!)));
      }
  }
  return comparisons;
}

/** The counted fraction of each attempt of some groups, by `benchmark/n`. */
function fractions(groups: readonly ReportGroup[]): Map<string, { benchmark: string; n: number; f: number }> {
  const out = new Map<string, { benchmark: string; n: number; f: number }>();
  for (const g of groups)
    for (const a of g.attempts)
      if (a.counted)
        out.set(`${a.benchmark}/${a.n}`, { benchmark: a.benchmark, n: a.n, f: a.score!.fraction });
  return out;
}

function compare(
  line: ReportGroup,
  a: string,
  b: string,
  as: readonly ReportGroup[],
  bs: readonly ReportGroup[],
): Comparison {
  const [fa, fb] = [fractions(as), fractions(bs)];
  const pairs: Comparison['pairs'] = [];
  const unpaired: Comparison['unpaired'] = [];
  for (const [at, x] of fa) {
    const y = fb.get(at);
    if (y) pairs.push({ benchmark: x.benchmark, n: x.n, a: x.f, b: y.f, diff: y.f - x.f });
    else
      unpaired.push({ benchmark: x.benchmark, variant: a, n: x.n, why: `${b} has no counted score there` });
  }
  for (const [at, y] of fb)
    if (!fa.has(at))
      unpaired.push({ benchmark: y.benchmark, variant: b, n: y.n, why: `${a} has no counted score there` });
  pairs.sort((p, q) => p.benchmark.localeCompare(q.benchmark) || p.n - q.n);
  const base = { harness: line.harness!, model: line.model, a, b, pairs, unpaired };
  if (pairs.length < MIN_PAIRS)
    return {
      ...base,
      diff: null,
      pValue: null,
      verdict: `not enough pairs: ${pairs.length}, at least ${MIN_PAIRS} needed`,
    };
  const diff = estimate(
    pairs.map((p) => p.diff),
    seedOf(`${line.harness}/${line.model}/${a}/${b}`),
  )!;
  const differing = pairs.filter((p) => p.diff !== 0);
  const pValue = signTest(differing.filter((p) => p.diff > 0).length, differing.length);
  const over = `over ${pairs.length} pairs (sign test p = ${pValue.toPrecision(2)})`;
  const [lo, hi] = diff.ci;
  const verdict =
    lo > 0
      ? `${b} ahead by ${fixed(diff.mean)} of max [${fixed(lo)}, ${fixed(hi)}] ${over}`
      : hi < 0
        ? `${a} ahead by ${fixed(-diff.mean)} of max [${fixed(-hi)}, ${fixed(-lo)}] ${over}`
        : `no clear difference: ${b} - ${a} = ${diff.mean >= 0 ? '+' : ''}${fixed(diff.mean)} of max [${fixed(lo)}, ${fixed(hi)}] ${over}`;
  return { ...base, diff, pValue, verdict };
}
