import type { Estimate } from './report-model.js';

/** Resamples per bootstrap interval: enough that the 2.5% and 97.5% points move by well under 0.01. */
export const BOOTSTRAP_RESAMPLES = 2_000;

/**
 * mulberry32: a small seeded generator, so a report of the same attempts prints the same
 * intervals every time. Returns floats in [0, 1).
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A 32-bit seed from text (FNV-1a), so each group's interval has its own stable stream. */
export function seedOf(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

export const mean = (xs: readonly number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

export function median(xs: readonly number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The q-quantile of sorted values, linear between the two nearest ranks (R's type 7). */
export function quantile(sorted: readonly number[], q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  return sorted[lo]! + (h - lo) * ((sorted[Math.ceil(h)] ?? sorted[lo]!) - sorted[lo]!);
}

/**
 * Mean, min-max and the 95% percentile-bootstrap interval of the mean: BOOTSTRAP_RESAMPLES means
 * of n values drawn with replacement, index floor(random * n), their 2.5% and 97.5% quantiles.
 */
export function estimate(xs: readonly number[], seed: number): Estimate | null {
  if (!xs.length) return null;
  const random = seededRandom(seed);
  const means: number[] = [];
  for (let r = 0; r < BOOTSTRAP_RESAMPLES; r++) {
    let sum = 0;
    for (let i = 0; i < xs.length; i++) sum += xs[Math.floor(random() * xs.length)]!;
    means.push(sum / xs.length);
  }
  means.sort((a, b) => a - b);
  return {
    n: xs.length,
    mean: mean(xs),
    min: Math.min(...xs),
    max: Math.max(...xs),
    ci: [quantile(means, 0.025), quantile(means, 0.975)],
  };
}

/** ln C(n, k) */
function logChoose(n: number, k: number): number {
  let s = 0;
  for (let i = 1; i <= k; i++) s += Math.log(n - k + i) - Math.log(i);
  return s;
}

/**
 * Two-sided exact sign test: of `n` pairs that differ, `plus` favour one side. The probability,
 * with each side equally likely, of a split at least this uneven (capped at 1).
 */
export function signTest(plus: number, n: number): number {
  if (n === 0) return 1;
  const extreme = Math.max(plus, n - plus);
  let tail = 0;
  for (let k = extreme; k <= n; k++) tail += Math.exp(logChoose(n, k) - n * Math.LN2);
  return Math.min(1, 2 * tail);
}

/**
 * pass@k, unbiased (Chen et al. 2021): the chance that at least one of k attempts drawn without
 * replacement from n, of which c passed, passes: 1 - C(n-c, k) / C(n, k). Null when n < k.
 */
export function passAtK(n: number, c: number, k: number): number | null {
  if (n < k || n === 0) return null;
  if (n - c < k) return 1;
  let fail = 1;
  for (let i = n - c + 1; i <= n; i++) fail *= 1 - k / i;
  return 1 - fail;
}
