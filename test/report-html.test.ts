import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml, renderHtml } from '../pipeline/report-html.js';
import type { Estimate, Report, ReportAttempt, ReportGroup, Usage } from '../pipeline/report-model.js';
import { openPage, type Page } from './helpers/chromium.js';
import { REPO } from './helpers/rig.js';

/**
 * The HTML report, rendered from a hand-made Report and opened in a real headless chromium: what a
 * reader sees, that the plots hold a mark per attempt, that sorting and printing work, that nothing
 * from disk becomes markup, and that the page fits a narrow window.
 */

const HOSTILE_NOTE = 'saw <script>alert(1)</script> & <b>bold</b>';
const NO_USAGE: Usage = { inputTokens: null, outputTokens: null, costUsd: null, source: 'none' };
const PLAIN = 'claude-code-sonnet-plain';
const MCP = 'claude-code-sonnet-mcp';
const OPENCODE = 'opencode-glm-4.7';

function estimate(values: number[]): Estimate {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return {
    n: values.length,
    mean,
    min: Math.min(...values),
    max: Math.max(...values),
    ci: [mean - 0.1, mean + 0.1],
  };
}

/** A complete attempt scored `fraction` of a 10-point scorecard, or unscored when null. */
function attempt(
  benchmark: string,
  modelId: string,
  n: number,
  fraction: number | null,
  usage = NO_USAGE,
): ReportAttempt {
  const score =
    fraction === null
      ? null
      : {
          state: 'done' as const,
          why: '',
          total: fraction * 10,
          scoredMax: 10,
          max: 10,
          fraction,
          unscored: [],
          pass: fraction >= 0.6,
          rows: [
            {
              criterion: 'Works',
              score: fraction * 8,
              max: 8,
              notes: n === 1 ? HOSTILE_NOTE : 'ok',
              evidence: 'hidden.txt',
            },
            { criterion: 'Style', score: null, max: 2, notes: '', evidence: 'a reading' },
          ],
        };
  return {
    benchmark,
    modelId,
    n,
    state: 'complete',
    outcome: 'succeeded',
    stale: false,
    why: '',
    exitCode: 0,
    durationMs: 65_000,
    runId: `run-${n}`,
    mode: 'docker',
    imageDigest: 'sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef',
    usage,
    score,
    counted: fraction !== null,
    links: [{ label: 'run-log', href: `eval-attempts/${benchmark}/${modelId}-attempt-${n}/run-log.json` }],
  };
}

function group(
  benchmark: string,
  modelId: string,
  fractions: (number | null)[],
  usage = NO_USAGE,
): ReportGroup {
  const [harness, model, variant] = modelId.startsWith('claude-code')
    ? ['claude-code', 'sonnet', modelId.split('-').at(-1)!]
    : ['opencode', 'z-ai/glm-4.7', null];
  const attempts = fractions.map((f, i) => attempt(benchmark, modelId, i + 1, f, usage));
  const scored = fractions.filter((f): f is number => f !== null);
  const cost = usage.costUsd === null ? null : usage.costUsd / fractions.length;
  return {
    benchmark,
    modelId,
    harness,
    model,
    variant,
    asked: fractions.length,
    complete: fractions.length,
    outcomes: { succeeded: fractions.length, failed: 0, timedOut: 0 },
    missing: [],
    invalid: 0,
    staleAttempts: 0,
    scores: { scored: scored.length, unscored: fractions.length - scored.length, stale: 0, partial: 0 },
    score: scored.length ? estimate(scored) : null,
    criteria: [],
    pass: {
      threshold: 0.6,
      known: scored.length,
      passed: 0,
      at1: scored.length ? 0.5 : null,
      atK: null,
      k: 3,
    },
    medianDurationMs: 65_000,
    usage,
    costPerAttemptUsd: cost,
    costPerPointUsd: cost,
    attempts,
  };
}

const gatewayUsage: Usage = { inputTokens: 12_000, outputTokens: 3_000, costUsd: 0.3, source: 'gateway' };
const cliUsage: Usage = { inputTokens: 9_000, outputTokens: 2_000, costUsd: 0.9, source: 'cli' };

const betaMcp = group('beta', MCP, [0.75]);
betaMcp.asked = 2;
betaMcp.missing = [{ n: 2, why: 'the container was killed (exit 137)' }];

const REPORT: Report = {
  schema: 'bench-pipeline/report',
  version: 1,
  generatedAt: '2025-01-02T03:04:05.000Z',
  includeStale: false,
  benchmarks: [
    { benchmark: 'alpha', max: 10, problem: null, recentErrors: [] },
    {
      benchmark: 'beta',
      max: 10,
      problem: 'scorecard.md: no Max column',
      recentErrors: ['docker: no space & <left>'],
    },
  ],
  groups: [
    group('alpha', PLAIN, [0.5, 0.7, 0.6], gatewayUsage),
    group('alpha', MCP, [0.8, 0.9, 0.7], cliUsage),
    group('alpha', OPENCODE, [null, null]),
    group('beta', PLAIN, [0.25, 0.5]),
    betaMcp,
  ],
  comparisons: [
    {
      harness: 'claude-code',
      model: 'sonnet',
      a: 'plain',
      b: 'mcp',
      pairs: [
        { benchmark: 'alpha', n: 1, a: 0.5, b: 0.8, diff: 0.3 },
        { benchmark: 'alpha', n: 2, a: 0.7, b: 0.9, diff: 0.2 },
        { benchmark: 'alpha', n: 3, a: 0.6, b: 0.7, diff: 0.1 },
        { benchmark: 'beta', n: 1, a: 0.25, b: 0.75, diff: 0.5 },
      ],
      unpaired: [{ benchmark: 'beta', variant: 'plain', n: 2, why: 'the mcp attempt is missing' }],
      diff: estimate([0.3, 0.2, 0.1, 0.5]),
      pValue: 0.125,
      verdict: 'mcp looks better, not significant at 4 pairs',
    },
  ],
};
const COUNTED = REPORT.groups.flatMap((g) => g.attempts).filter((a) => a.counted).length;

describe('escapeHtml', () => {
  it('escapes what could open markup or end an attribute', () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe(
      '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;',
    );
    expect(escapeHtml('plain text 0.75')).toBe('plain text 0.75');
  });
});

describe('renderHtml', () => {
  const html = renderHtml(REPORT);

  it('refers to nothing on the network and escapes what came from disk', () => {
    expect(html).not.toMatch(/https?:/);
    expect(html).not.toMatch(/\ssrc=/);
    expect(html).not.toContain('<script>alert(1)');
    expect(html).toContain('saw &lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;');
    for (const [, target] of html.matchAll(/href="([^"]*)"/g)) expect(target).toMatch(/^(#|eval-attempts\/)/);
  });

  it('says when no group has cost figures or no variants compare', () => {
    const bare = renderHtml({ ...REPORT, groups: [REPORT.groups[2]!], comparisons: [] });
    expect(bare).toContain(
      'no cost figures (the attempts ran without the gateway and their CLI reported none)',
    );
    expect(bare).toContain('no variants to compare');
  });
});

describe('the HTML report in chromium', () => {
  let dir: string;
  let page: Page;
  const evaluate = <T>(expression: string) => page.evaluate<T>(expression);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'report-html-'));
    writeFileSync(join(dir, 'report.html'), renderHtml(REPORT));
    page = await openPage(join(dir, 'report.html'), { width: 1280, height: 900 });
  });
  afterAll(async () => {
    try {
      await page?.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  /** The model-ids of the summary's rows, top to bottom, each with its benchmark. */
  const order = () =>
    evaluate<string[]>(
      `[...document.querySelectorAll('#summary tbody tr')].map((r) => r.cells[0].textContent + ' ' + r.dataset.modelId)`,
    );
  const meanOf = (benchmark: string, modelId: string) =>
    evaluate<string>(
      `[...document.querySelectorAll('#summary tbody tr')].find((r) => r.dataset.modelId === ${JSON.stringify(modelId)} && r.cells[0].textContent === ${JSON.stringify(benchmark)}).cells[12].textContent`,
    );

  it('shows every group with its score, and an unscored group as not scored', async () => {
    const text = await evaluate<string>('document.body.innerText');
    for (const id of [PLAIN, MCP, OPENCODE]) expect(text).toContain(id);
    expect(await meanOf('alpha', PLAIN)).toBe('0.60');
    expect(await meanOf('alpha', MCP)).toBe('0.80');
    expect(await meanOf('beta', PLAIN)).toBe('0.38');
    expect(await meanOf('alpha', OPENCODE)).toBe('not scored');
    expect(text).toContain('$0.3000†');
    expect(text).toContain('reported by the CLI, not measured by the gateway');
    expect(text).toContain('mcp looks better, not significant at 4 pairs');
    expect(text).toContain('beta #2 (plain) has no counterpart: the mcp attempt is missing');
    expect(text).toContain('beta claude-code-sonnet-mcp #2: the container was killed (exit 137)');
    expect(text).toContain('docker: no space & <left>');
  });

  it('plots a circle per counted attempt, and the cost and pair plots', async () => {
    expect(await evaluate('document.querySelectorAll("svg#plot-scores circle").length')).toBe(COUNTED);
    expect(await evaluate('document.querySelectorAll("svg#plot-cost circle").length')).toBe(2);
    expect(await evaluate('document.querySelectorAll("svg#plot-pairs circle").length')).toBe(4);
  });

  it('keeps notes as text: no script from disk', async () => {
    expect(await evaluate('document.querySelectorAll("script").length')).toBe(1);
    expect(await evaluate('document.querySelectorAll("main b").length')).toBe(0);
    const notes = await evaluate<string>(`document.getElementById('attempt-alpha-${PLAIN}-1').textContent`);
    expect(notes).toContain(HOSTILE_NOTE);
  });

  it('links each summary row to its attempts', async () => {
    const targets = await evaluate<boolean[]>(
      `[...document.querySelectorAll('#summary tbody a')].map((a) => !!document.getElementById(decodeURIComponent(a.hash.slice(1))))`,
    );
    expect(targets).toEqual(REPORT.groups.map(() => true));
    expect(await evaluate('document.querySelectorAll("details[id^=attempt-]").length')).toBe(
      REPORT.groups.reduce((n, g) => n + g.attempts.length, 0),
    );
  });

  it('sorts by a clicked header, with the unscored group last either way', async () => {
    const before = await order();
    const click = () => evaluate(`[...document.querySelectorAll('#summary th')][12].click()`);
    await click();
    const ascending = await order();
    expect(ascending).not.toEqual(before);
    expect(ascending).toEqual([
      `beta ${PLAIN}`,
      `alpha ${PLAIN}`,
      `beta ${MCP}`,
      `alpha ${MCP}`,
      `alpha ${OPENCODE}`,
    ]);
    await click();
    expect(await order()).toEqual([
      `alpha ${MCP}`,
      `beta ${MCP}`,
      `alpha ${PLAIN}`,
      `beta ${PLAIN}`,
      `alpha ${OPENCODE}`,
    ]);
  });

  it('opens every drill-down before printing, and fits a narrow window', async () => {
    await evaluate(`window.dispatchEvent(new Event('beforeprint'))`);
    expect(await evaluate('[...document.querySelectorAll("details")].every((d) => d.open)')).toBe(true);
    mkdirSync(join(REPO, 'test-artifacts'), { recursive: true });
    copyFileSync(join(dir, 'report.html'), join(REPO, 'test-artifacts/report.html'));
    const png = join(REPO, 'test-artifacts/report.png');
    await page.screenshot(png, { width: 1280, height: 900 });
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    await page.resize({ width: 400, height: 800 });
    expect(await evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(400);
    await page.screenshot(join(REPO, 'test-artifacts/report-narrow.png'), { width: 400, height: 800 });
  });

  it('logged no error', () => {
    expect(page.errors).toEqual([]);
  });
});
