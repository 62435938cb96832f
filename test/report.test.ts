import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCsv } from '../tasks/score-sheet.js';
import { configFile, makeRig, type Rig, runnerYaml } from './helpers/rig.js';

/**
 * `report` end to end on real attempts of a scripted harness `w`: each attempt takes the next
 * number of its variant's sequence file into answer.txt, and the one check scores it as that
 * many points of 10. The expected figures are computed here from the score.csv files on disk,
 * with this file's own bootstrap, binomial and pass@k, not with the report's code.
 */
const HARNESS = `w: { command: ['sh', '-c', 'head -n 1 "$SEQ" > answer.txt; sed -i 1d "$SEQ"'], versionCommand: ['sh', '-c', 'echo w 1']},`;

const VARIANTS = (dir: string) =>
  `variants: { base: { env: { SEQ: ${JSON.stringify(join(dir, 'seq-base.txt'))} } }, mcp: { env: { SEQ: ${JSON.stringify(join(dir, 'seq-mcp.txt'))} } } },`;

const SCORECARD = `# Scorecard

| Criterion | Max | Method | Evidence required |
| --- | --- | --- | --- |
| The answer | 10 | auto | the check |
| Style | 2 | manual | a reading |

Output format (CSV): \`Criterion,Score,Max,Notes,Evidence\`
`;

const CHECK = (extra = '') => `
scoring:
  checks:
    - criterion: The answer
      run: 'echo "SCORE $(cat answer.txt)/10"${extra}'
`;

async function reportRig(): Promise<Rig> {
  const rig = await makeRig({});
  await rig.write({
    'bench.config.mjs': configFile(VARIANTS(rig.dir)).replace('harnesses: {', `harnesses: {\n    ${HARNESS}`),
    'seq-base.txt': '2\n4\n6\n8\n10\n3\n1\n2\n3\n',
    'seq-mcp.txt': '5\n7\n9\n10\n10\n6\n8\n',
  });
  for (const slug of ['b', 'c'])
    await rig.write({
      [`benchmarks/${slug}/runner.yaml`]: runnerYaml(slug, { allowed_harnesses: '\n  - w' }) + CHECK(),
      [`benchmarks/${slug}/prompt.md`]: 'Write a number into answer.txt.\n',
      [`benchmarks/${slug}/context.md`]: 'Context.\n',
      [`benchmarks/${slug}/scorecard.md`]: SCORECARD,
    });
  const ok = async (args: string[]) => {
    const r = await rig.cli(args);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return r;
  };
  await ok(['run', 'b', '--harness', 'w', '--variant', 'base', '--attempts', '6', '--concurrency', '1']);
  await ok(['run', 'b', '--harness', 'w', '--variant', 'mcp', '--attempts', '7', '--concurrency', '1']);
  await ok(['run', 'c', '--harness', 'w', '--variant', 'base', '--attempts', '3', '--concurrency', '1']);
  await ok(['score', 'b']);
  await ok(['score', 'c']);
  return rig;
}

/** The points of the check row of each attempt of a model-id, by index, from score.csv. */
async function points(rig: Rig, slug: string, id: string, count: number): Promise<number[]> {
  const out: number[] = [];
  for (let n = 1; n <= count; n++) {
    const text = await readFile(
      join(rig.dir, 'benchmarks', slug, 'eval-results', `${id}-attempt-${n}`, 'score.csv'),
      'utf8',
    );
    const parsed = parseCsv(text);
    if (!Array.isArray(parsed)) throw new Error(`unreadable score.csv: ${parsed.problem}`);
    out.push(Number(parsed[1]!.cells[1]));
  }
  return out;
}

/** The same generator and seed the report documents (mulberry32 seeded with FNV-1a of the group), written again. */
function stream(label: string): () => number {
  let seed = 2166136261;
  for (const ch of label) seed = Math.imul(seed ^ ch.charCodeAt(0), 16777619) >>> 0;
  let state = seed;
  return () => {
    state = (state + 1831565813) >>> 0;
    let z = Math.imul(state ^ (state >>> 15), state | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Percentile bootstrap of the mean, 2000 resamples, R type 7 quantiles. */
function bootstrap(xs: number[], label: string): [number, number] {
  const next = stream(label);
  const means = Array.from({ length: 2000 }, () => {
    const draw = xs.map(() => xs[Math.floor(next() * xs.length)]!);
    return draw.reduce((a, b) => a + b) / xs.length;
  }).sort((a, b) => a - b);
  const at = (q: number) => {
    const h = 1999 * q;
    return means[Math.floor(h)]! + (h - Math.floor(h)) * (means[Math.ceil(h)]! - means[Math.floor(h)]!);
  };
  return [at(0.025), at(0.975)];
}

const choose = (n: number, k: number): number => (k === 0 ? 1 : (choose(n - 1, k - 1) * n) / k);
const avg = (xs: number[]) => xs.reduce((a, b) => a + b) / xs.length;

describe('report', () => {
  it('computes means, intervals, pass@k and a paired sign test that match an independent computation', async () => {
    const rig = await reportRig();
    const r = await rig.cli(['report', 'b', '--format', 'json', '--attempts']);
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report.schema).toBe('bench-pipeline/report');
    expect(report.version).toBe(1);

    const base = (await points(rig, 'b', 'w-default-base', 6)).map((p) => p / 10);
    const mcp = (await points(rig, 'b', 'w-default-mcp', 7)).map((p) => p / 10);
    expect([...base].sort()).toEqual([0.2, 0.3, 0.4, 0.6, 0.8, 1]);
    const group = (id: string) => report.groups.find((g: { modelId: string }) => g.modelId === id);
    for (const [id, xs] of [
      ['w-default-base', base],
      ['w-default-mcp', mcp],
    ] as const) {
      const g = group(id);
      expect(g.complete).toBe(xs.length);
      expect(g.score.mean).toBeCloseTo(avg(xs), 12);
      expect(g.score.min).toBe(Math.min(...xs));
      expect(g.score.max).toBe(Math.max(...xs));
      const [lo, hi] = bootstrap(xs, `b/${id}`);
      expect(g.score.ci[0]).toBeCloseTo(lo, 12);
      expect(g.score.ci[1]).toBeCloseTo(hi, 12);
      expect(lo).toBeLessThanOrEqual(avg(xs));
      expect(hi).toBeGreaterThanOrEqual(avg(xs));
      // Only the check row is scored: the manual Style row counts neither way.
      expect(g.scores).toEqual({ scored: xs.length, unscored: 0, stale: 0, partial: xs.length });
      const passed = xs.filter((x) => x === 1).length;
      // At total = max with Style unscored, a full check row may yet pass (unknown, not counted);
      // any other is a known fail.
      expect(passed).toBeGreaterThan(0);
      expect(g.pass.known).toBe(xs.length - passed);
      expect(g.pass.passed).toBe(0);
      expect(g.pass.at1).toBe(0);
      expect(g.criteria).toEqual([
        { criterion: 'The answer', max: 10, n: xs.length, mean: expect.closeTo(avg(xs) * 10, 12) },
        { criterion: 'Style', max: 2, n: 0, mean: null },
      ]);
    }

    // Paired by index: mcp attempt 7 has no base counterpart and is listed, not dropped.
    const [c] = report.comparisons;
    expect(c.a).toBe('base');
    expect(c.b).toBe('mcp');
    const diffs = base.map((x, i) => mcp[i]! - x);
    expect(c.pairs.map((p: { diff: number }) => p.diff)).toEqual(diffs.map((d) => expect.closeTo(d, 12)));
    expect(c.unpaired).toEqual([
      { benchmark: 'b', variant: 'mcp', n: 7, why: 'base has no counted score there' },
    ]);
    expect(c.diff.mean).toBeCloseTo(avg(diffs), 12);
    const [lo, hi] = bootstrap(diffs, 'w/null/base/mcp');
    expect(c.diff.ci[0]).toBeCloseTo(lo, 12);
    expect(c.diff.ci[1]).toBeCloseTo(hi, 12);
    const differing = diffs.filter((d) => Math.abs(d) > 1e-9);
    const plus = differing.filter((d) => d > 0).length;
    const extreme = Math.max(plus, differing.length - plus);
    let tail = 0;
    for (let k = extreme; k <= differing.length; k++)
      tail += choose(differing.length, k) / 2 ** differing.length;
    expect(c.pValue).toBeCloseTo(Math.min(1, 2 * tail), 12);
    expect(c.verdict).toMatch(lo > 0 ? /^mcp ahead by/ : /^no clear difference/);
    expect(c.verdict).toContain(`over 6 pairs`);

    // The table: every model-id with its mean, within 100 columns, no colour off a TTY.
    const table = await rig.cli(['report', 'b']);
    expect(table.code).toBe(0);
    for (const id of ['w-default-base', 'w-default-mcp'])
      expect(table.stdout).toMatch(new RegExp(`^  ${id} .*${group(id).score.mean.toFixed(2)} \\[`, 'm'));
    expect(Math.max(...table.stdout.split('\n').map((l) => l.length))).toBeLessThanOrEqual(100);
    expect(table.stdout).not.toContain('\x1b[');
    expect(table.stdout).toContain('unpaired: b mcp attempt 7');

    // CSV: a row per group; with --attempts a row per attempt.
    const csv = (await rig.cli(['report', 'b', '--format', 'csv'])).stdout.trim().split('\n');
    expect(csv).toHaveLength(1 + 2);
    const perAttempt = (await rig.cli(['report', 'b', '--format', 'csv', '--attempts'])).stdout
      .trim()
      .split('\n');
    expect(perAttempt).toHaveLength(1 + 6 + 7);
    // Over both benchmarks, c's base attempts have no mcp counterpart: listed as unpaired too.
    const both = JSON.parse((await rig.cli(['report', '--format', 'json'])).stdout);
    expect(both.comparisons[0].pairs).toHaveLength(6);
    expect(both.comparisons[0].unpaired).toHaveLength(1 + 3);

    // pass@k with a threshold of 0.5 of max (6 points): known where the unscored 2 of Style cannot change it.
    await writeFile(
      join(rig.dir, 'bench.config.mjs'),
      (await readFile(join(rig.dir, 'bench.config.mjs'), 'utf8')).replace(
        'variants:',
        'report: { pass: 0.5, k: 3 },\n  variants:',
      ),
    );
    const half = JSON.parse((await rig.cli(['report', 'b', '--format', 'json'])).stdout);
    for (const [id, xs] of [
      ['w-default-base', base],
      ['w-default-mcp', mcp],
    ] as const) {
      const g = half.groups.find((x: { modelId: string }) => x.modelId === id);
      const n = xs.filter((x) => x * 10 >= 6 || x * 10 + 2 < 6).length;
      const c3 = xs.filter((x) => x * 10 >= 6).length;
      expect(n).toBeGreaterThanOrEqual(3);
      expect(g.pass.known).toBe(n);
      expect(g.pass.passed).toBe(c3);
      expect(g.pass.at1).toBeCloseTo(c3 / n, 12);
      expect(g.pass.atK).toBeCloseTo(1 - choose(n - c3, 3) / choose(n, 3), 12);
    }
  }, 180_000);

  it('shows stale and unscored attempts without counting them, and never as 0', async () => {
    const rig = await reportRig();
    const before = JSON.parse((await rig.cli(['report', 'c', '--format', 'json'])).stdout).groups[0];
    expect(before.score.mean).toBeCloseTo(0.2, 12);

    // A new attempt, not scored: listed as unscored, the mean unchanged.
    expect((await rig.cli(['run', 'c', '--harness', 'w', '--variant', 'base', '--more', '1'])).code).toBe(0);
    const more = JSON.parse((await rig.cli(['report', 'c', '--format', 'json'])).stdout).groups[0];
    expect(more.complete).toBe(4);
    expect(more.scores.unscored).toBe(1);
    expect(more.score.n).toBe(3);
    expect(more.score.mean).toBeCloseTo(0.2, 12);

    // The check changes: every score is stale, shown and not counted; --include-stale counts them.
    await writeFile(
      join(rig.dir, 'benchmarks/c/runner.yaml'),
      runnerYaml('c', { allowed_harnesses: '\n  - w' }) + CHECK('; true'),
    );
    const stale = JSON.parse((await rig.cli(['report', 'c', '--format', 'json', '--attempts'])).stdout)
      .groups[0];
    expect(stale.scores).toMatchObject({ scored: 0, stale: 3, unscored: 1 });
    expect(stale.score).toBeNull();
    expect(
      stale.attempts.filter((a: { score: { state: string } | null }) => a.score?.state === 'stale'),
    ).toHaveLength(3);
    const table = (await rig.cli(['report', 'c'])).stdout;
    expect(table).toMatch(/^ {2}w-default-base .*not scored/m);
    expect(table).toContain('3 scores stale');
    const counted = JSON.parse((await rig.cli(['report', 'c', '--format', 'json', '--include-stale'])).stdout)
      .groups[0];
    expect(counted.score.n).toBe(3);
    expect(counted.score.mean).toBeCloseTo(0.2, 12);

    // An unknown format is a usage error.
    expect((await rig.cli(['report', '--format', 'pdf'])).code).toBe(2);
  }, 180_000);
});
