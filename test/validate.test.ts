import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeRig, runnerYaml } from './helpers/rig.js';

const PROMPT = '# Task\nWrite out.txt. Do not ask follow-up questions.\n';
const SCORECARD = `# Scorecard
| Criterion | Max | Method | Evidence required |
| --- | --- | --- | --- |
| out.txt exists | 2 | auto | file listing |
| Code reads well | 1 | manual | the diff |

Output format (CSV): \`Criterion,Score,Max,Notes,Evidence\`
`;

/** A benchmark that passes every check; `change` edits it into one that trips a single code. */
function benchmark(
  slug: string,
  change: Record<string, string | null> = {},
  yaml: Record<string, string> = {},
) {
  const files: Record<string, string | null> = {
    [`benchmarks/${slug}/runner.yaml`]: runnerYaml(slug, { allowed_harnesses: '[t]', ...yaml }),
    [`benchmarks/${slug}/prompt.md`]: PROMPT,
    [`benchmarks/${slug}/context.md`]: 'Some context.\n',
    [`benchmarks/${slug}/scorecard.md`]: SCORECARD,
  };
  for (const [path, content] of Object.entries(change)) files[`benchmarks/${slug}/${path}`] = content;
  return Object.fromEntries(Object.entries(files).filter((e): e is [string, string] => e[1] !== null));
}

const brownfield = (
  slug: string,
  change: Record<string, string | null> = {},
  yaml: Record<string, string> = {},
) =>
  benchmark(
    slug,
    {
      'baseline/app.js': 'console.log(1);\n',
      'baseline-manifest.md':
        '# Baseline\nState mode: brownfield\nVisible: `prompt.md`, `context.md`, `baseline`\nForbidden: scorecard.md\n',
      ...change,
    },
    { state_mode: 'brownfield', model_visible_files: '[prompt.md, context.md, baseline]', ...yaml },
  );

/** One benchmark per code, each tripping that code (and, for errors, failing validation). */
const CASES: { code: string; files: Record<string, string>; line?: boolean }[] = [
  {
    code: 'manifest-syntax',
    files: benchmark('c-syntax', { 'runner.yaml': 'name: c-syntax\nstate_mode: [\n' }),
    line: true,
  },
  { code: 'manifest-schema', files: benchmark('c-schema', {}, { state_mode: 'sideways' }), line: true },
  { code: 'manifest-schema', files: benchmark('c-network', {}, { network: 'closed' }), line: true },
  { code: 'name-mismatch', files: benchmark('c-name', {}, { name: 'other' }), line: true },
  {
    code: 'unknown-harness',
    files: benchmark('c-harness', {}, { allowed_harnesses: '[t, nope]' }),
    line: true,
  },
  { code: 'model-missing', files: benchmark('c-model', {}, { allowed_harnesses: '[opencode]' }), line: true },
  {
    code: 'visible-missing',
    files: benchmark('c-vis-missing', {}, { model_visible_files: '[prompt.md, context.md, gone.md]' }),
    line: true,
  },
  {
    code: 'visible-forbidden',
    files: benchmark('c-vis-forbidden', {}, { model_visible_files: '[prompt.md, context.md, scorecard.md]' }),
    line: true,
  },
  {
    code: 'visible-escapes',
    files: benchmark('c-vis-escapes', {}, { model_visible_files: '[prompt.md, context.md, ../x]' }),
    line: true,
  },
  {
    code: 'prompt-missing',
    files: benchmark('c-prompt', { 'prompt.md': null }, { model_visible_files: '[context.md]' }),
    line: true,
  },
  {
    code: 'prompt-not-visible',
    files: benchmark('c-prompt-vis', {}, { model_visible_files: '[context.md]' }),
    line: true,
  },
  { code: 'scorecard-missing', files: benchmark('c-sc-missing', { 'scorecard.md': null }) },
  {
    code: 'scorecard-table',
    files: benchmark('c-sc-table', { 'scorecard.md': 'Criterion,Score,Max,Notes,Evidence\n' }),
  },
  {
    code: 'scorecard-method',
    files: benchmark('c-sc-method', { 'scorecard.md': SCORECARD.replace('| manual |', '| vibes |') }),
    line: true,
  },
  {
    code: 'scorecard-csv',
    files: benchmark('c-sc-csv', { 'scorecard.md': SCORECARD.replace(/Output.*\n/, '') }),
  },
  {
    code: 'scorecard-mentioned',
    files: benchmark('c-sc-mention', { 'context.md': 'Hint:\nthe Scorecard rewards tests.\n' }),
    line: true,
  },
  {
    code: 'brownfield-baseline',
    files: brownfield('c-bf-baseline', {}, { model_visible_files: '[prompt.md, context.md]' }),
    line: true,
  },
  { code: 'brownfield-manifest', files: brownfield('c-bf-manifest', { 'baseline-manifest.md': null }) },
  {
    code: 'baseline-manifest-mismatch',
    files: brownfield('c-bf-mismatch', {
      'baseline-manifest.md': '# Baseline\nState mode: brownfield\n`prompt.md` only\n',
    }),
    line: true,
  },
  {
    code: 'greenfield-baseline',
    files: benchmark(
      'c-gf-baseline',
      { 'baseline/a.txt': 'a\n' },
      { model_visible_files: '[prompt.md, context.md, baseline]' },
    ),
    line: true,
  },
  {
    code: 'dockerfile-missing',
    files: benchmark('c-dockerfile', {}, { image: 'example/img:1' }),
    line: true,
  },
  {
    code: 'context-not-visible',
    files: benchmark('c-context', {}, { model_visible_files: '[prompt.md]' }),
    line: true,
  },
  { code: 'prompt-follow-up', files: benchmark('c-follow-up', { 'prompt.md': '# Task\nWrite out.txt.\n' }) },
  {
    code: 'todo-left',
    files: benchmark('c-todo', { 'context.md': 'Some context.\nInputs: TODO(author): the sample inputs.\n' }),
    line: true,
  },
  {
    code: 'model-id-too-long',
    files: benchmark('c-model-long', {}, { defaults: `\n  t:\n    model: ${'m'.repeat(300)}` }),
    line: true,
  },
];

interface Finding {
  code: string;
  severity: string;
  location: { file: string; line?: number };
}

describe('validate', () => {
  it('each code has a benchmark that trips it, and clean ones pass', async () => {
    const files = Object.assign(
      {},
      benchmark('clean'),
      brownfield('clean-brown'),
      benchmark('clean-network', {}, { network: 'model' }),
      ...CASES.map((c) => c.files),
    );
    const rig = await makeRig(files);
    const r = await rig.cli(['validate', '--json']);
    expect(r.code, r.stderr).toBe(2);
    const { benchmarks } = JSON.parse(r.stdout) as {
      benchmarks: { benchmark: string; findings: Finding[] }[];
    };
    const of = (slug: string) => benchmarks.find((b) => b.benchmark === slug)!.findings;
    expect(of('clean')).toEqual([]);
    expect(of('clean-brown')).toEqual([]);
    expect(of('clean-network')).toEqual([]);
    for (const c of CASES) {
      const slug = Object.keys(c.files)[0]!.split('/')[1]!;
      const found = of(slug);
      expect(
        found.map((f) => f.code),
        slug,
      ).toContain(c.code);
      const finding = found.find((f) => f.code === c.code)!;
      expect(finding.location.file, slug).toContain(`benchmarks/${slug}/`);
      if (c.line) expect(finding.location.line, slug).toBeGreaterThan(0);
    }
    // Named benchmarks only; warnings alone pass.
    const warned = await rig.cli(['validate', 'c-follow-up', 'c-dockerfile']);
    expect(warned.code, warned.stdout).toBe(0);
    expect(warned.stdout).toMatch(/prompt\.md: warning prompt-follow-up: /);
    expect(warned.stdout).toMatch(/runner\.yaml:\d+:\d+: image: warning dockerfile-missing: /);
    expect(warned.stdout).toContain('2 benchmarks: 0 errors, 2 warnings');
  });

  it('a symlink out of the benchmark is refused at its entry', async () => {
    const rig = await makeRig(benchmark('link', {}, { model_visible_files: '[prompt.md, context.md, out]' }));
    symlinkSync('/etc', join(rig.dir, 'benchmarks/link/out'));
    const r = await rig.cli(['validate', 'link']);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(
      /runner\.yaml:\d+:\d+: model_visible_files\[2\]: error visible-escapes: "out" leads outside/,
    );
  });

  it('the shipped example benchmarks validate clean', async () => {
    const { execFileSync } = await import('node:child_process');
    const { CLI, REPO } = await import('./helpers/rig.js');
    const out = execFileSync(process.execPath, [CLI, 'validate'], { cwd: REPO, encoding: 'utf8' });
    expect(out).toMatch(/: 0 errors, 0 warnings/);
  });
});
