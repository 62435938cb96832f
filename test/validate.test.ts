import { createHash } from 'node:crypto';
import { chmodSync, linkSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkFiles } from '../pipeline/check-files.js';
import { loadBenchmark } from '../pipeline/manifest.js';
import { makeRig, runnerYaml } from './helpers/rig.js';

const PROMPT = '# Task\nWrite out.txt. Do not ask follow-up questions.\n';
const SCORECARD = `# Scorecard
| Criterion | Max | Method | Evidence required |
| --- | --- | --- | --- |
| out.txt exists | 2 | auto | file listing |
| Code reads well | 1 | manual | the diff |

Output format (CSV): \`Criterion,Score,Max,Notes,Evidence\`
`;

/** `scoring:` with these checks, each criterion and file as a YAML (JSON) string. */
const scoring = (...checks: { criterion: string; files?: string[] }[]) =>
  `\n  checks:${checks
    .map((c) => `\n    - criterion: ${JSON.stringify(c.criterion)}\n      run: sh hidden-tests/out.test.sh`)
    .map((text, i) => `${text}\n      files: ${JSON.stringify(checks[i]!.files ?? ['hidden-tests/'])}`)
    .join('')}`;

/** A benchmark that passes every check; `change` edits it into one that trips a single code. */
function benchmark(
  slug: string,
  change: Record<string, string | null> = {},
  yaml: Record<string, string> = {},
) {
  const files: Record<string, string | null> = {
    [`benchmarks/${slug}/runner.yaml`]: runnerYaml(slug, {
      allowed_harnesses: '[t]',
      scoring: scoring({ criterion: 'out.txt exists' }),
      ...yaml,
    }),
    [`benchmarks/${slug}/prompt.md`]: PROMPT,
    [`benchmarks/${slug}/context.md`]: 'Some context.\n',
    [`benchmarks/${slug}/scorecard.md`]: SCORECARD,
    [`benchmarks/${slug}/hidden-tests/out.test.sh`]: 'test -f out.txt\n',
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
  location: { file: string; line?: number; column?: number };
  field?: string;
  message: string;
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

/**
 * Where the value at `checks[i].criterion` or `checks[i].files[j]` sits in runner.yaml's text
 * (line and column from 1), found independently of validate: the value's first occurrence after
 * the i-th `- criterion:`.
 */
function position(text: string, checks: Parameters<typeof scoring>, field: string) {
  const [, i, j] = /^checks\[(\d+)\]\.(?:criterion|files\[(\d+)\])$/.exec(field)!;
  const check = checks[Number(i)]!;
  let at = -1;
  for (let k = 0; k <= Number(i); k++) at = text.indexOf('- criterion: ', at + 1);
  at = text.indexOf(JSON.stringify(j === undefined ? check.criterion : check.files![Number(j)]), at);
  const before = text.slice(0, at).split('\n');
  return { line: before.length, column: before.at(-1)!.length + 1 };
}

const AUTO_TWICE = SCORECARD.replace(
  '| Code reads well |',
  '| Second auto | 1 | auto | a run |\n| Tests are good | 1 | hybrid | the tests |\n| Code reads well |',
);

/** Each package trips these codes at these fields of runner.yaml (`scoring.` left off), and no others. */
const CHECKS: {
  slug: string;
  checks: Parameters<typeof scoring>;
  yaml?: Record<string, string>;
  change?: Record<string, string>;
  /** [target, path]: a symlink, or with `hard:` a hard link to that package file. */
  links?: [string, string][];
  expect: Record<string, [code: string, message: RegExp]>;
}[] = [
  {
    slug: 'k-criterion',
    checks: [
      'out.txt exists',
      '`Out.TXT`  exists',
      'out.txt exits',
      'Speed',
      'Code reads well',
      'out.txt exists',
    ].map((criterion) => ({ criterion })),
    expect: {
      'checks[1].criterion': ['check-criterion-unknown', /did you mean "out\.txt exists"/],
      'checks[2].criterion': ['check-criterion-unknown', /did you mean "out\.txt exists"/],
      'checks[3].criterion': [
        'check-criterion-unknown',
        /^no criterion "Speed" in scorecard\.md; its criteria: "out\.txt exists", "Code reads well"$/,
      ],
      'checks[4].criterion': ['check-criterion-manual', /"Code reads well" is manual/],
      'checks[5].criterion': ['check-criterion-twice', /already scored by scoring\.checks\[0\]/],
    },
  },
  {
    slug: 'k-files',
    checks: [
      {
        criterion: 'out.txt exists',
        files: ['hidden-tests/', 'scorecard.md', 'gone/', '../out', '/etc/passwd'],
      },
      {
        criterion: 'Second auto',
        files: ['runner.yaml', 'eval-results/x', '.pipeline', 'Runner.lock.yaml', './'],
      },
    ],
    change: { 'scorecard.md': AUTO_TWICE, 'hidden-tests/deep/x': 'x\n' },
    links: [['/etc/passwd', 'hidden-tests/deep/leak']],
    expect: {
      'checks[0].files[0]': ['check-file-escapes', /contains the symlink hidden-tests\/deep\/leak;/],
      'checks[0].files[2]': ['check-file-missing', /"gone\/" does not exist/],
      'checks[0].files[3]': ['check-file-escapes', /leads outside the package/],
      'checks[0].files[4]': ['check-file-escapes', /is an absolute path/],
      'checks[1].files[0]': ['check-file-escapes', /names runner\.yaml/],
      'checks[1].files[1]': ['check-file-escapes', /names eval-results/],
      'checks[1].files[2]': ['check-file-escapes', /names \.pipeline/],
      'checks[1].files[3]': ['check-file-escapes', /names runner\.lock\.yaml/],
      'checks[1].files[4]': ['check-file-escapes', /the whole package/],
    },
  },
  {
    slug: 'k-links',
    checks: [{ criterion: 'out.txt exists', files: ['tests', 'tests/out.test.sh', 'hidden-tests/up'] }],
    links: [
      ['hidden-tests', 'tests'],
      ['..', 'hidden-tests/up'],
    ],
    expect: {
      'checks[0].files[0]': ['check-file-escapes', /"tests" is a symlink;/],
      'checks[0].files[1]': ['check-file-escapes', /goes through the symlink tests;/],
      'checks[0].files[2]': ['check-file-escapes', /"hidden-tests\/up" is a symlink;/],
    },
  },
  {
    slug: 'k-visible',
    checks: [
      {
        criterion: 'out.txt exists',
        files: ['context.md', 'docs/guide.md', 'notes', 'hidden-tests', 'h.md'],
      },
    ],
    yaml: { model_visible_files: '[prompt.md, context.md, docs, notes/a.md, shown]' },
    change: { 'docs/guide.md': 'g\n', 'notes/a.md': 'a\n', 'shown/readme.md': 'r\n' },
    links: [
      ['../hidden-tests/out.test.sh', 'shown/t.sh'],
      ['hard:docs/guide.md', 'h.md'],
    ],
    expect: {
      'checks[0].files[0]': ['check-file-visible', /"context\.md" is the model-visible "context\.md"/],
      'checks[0].files[1]': ['check-file-visible', /lies inside the model-visible "docs"/],
      'checks[0].files[2]': ['check-file-visible', /contains the model-visible "notes\/a\.md"/],
      'checks[0].files[3]': [
        'check-file-visible',
        /hidden-tests\/out\.test\.sh, seen by the model as shown\/t\.sh/,
      ],
      'checks[0].files[4]': ['check-file-visible', /is a hard link to the model-visible docs\/guide\.md/],
    },
  },
];

describe('validate: scoring checks', () => {
  it('each code is located at its field, and a package with sound checks has no finding', async () => {
    const files = Object.assign(
      benchmark(
        'k-clean',
        { 'scorecard.md': AUTO_TWICE, 'hidden-tests/sub/b.txt': 'b\n' },
        {
          scoring: scoring(
            { criterion: 'out.txt exists', files: ['hidden-tests', 'scorecard.md'] },
            { criterion: 'Second auto', files: ['hidden-tests/sub/b.txt', 'hidden-tests/sub'] },
          ),
        },
      ),
      benchmark('k-unchecked', { 'scorecard.md': AUTO_TWICE }),
      // Without any check, no auto criterion is warned of: the package is scored by hand, or unfinished.
      benchmark('k-no-checks', { 'scorecard.md': AUTO_TWICE }, { scoring: '{}' }),
      // No table to check against: the names are not checked, the files are.
      benchmark(
        'k-no-table',
        { 'scorecard.md': 'Criterion,Score,Max,Notes,Evidence\n' },
        { scoring: scoring({ criterion: 'Nothing', files: ['gone'] }) },
      ),
      ...CHECKS.map((c) => benchmark(c.slug, c.change, { scoring: scoring(...c.checks), ...c.yaml })),
    );
    const rig = await makeRig(files);
    for (const c of CHECKS) {
      for (const [target, path] of c.links ?? []) {
        const at = join(rig.dir, 'benchmarks', c.slug, path);
        if (target.startsWith('hard:')) linkSync(join(rig.dir, 'benchmarks', c.slug, target.slice(5)), at);
        else symlinkSync(target, at);
      }
    }
    const r = await rig.cli(['validate', '--json']);
    expect(r.code, r.stderr).toBe(2);
    const { benchmarks } = JSON.parse(r.stdout) as {
      benchmarks: { benchmark: string; findings: Finding[] }[];
    };
    const of = (slug: string) => benchmarks.find((b) => b.benchmark === slug)!.findings;
    expect(of('k-clean')).toEqual([]);
    expect(of('k-no-checks')).toEqual([]);
    expect(of('k-no-table').map((f) => [f.code, f.field])).toEqual([
      ['scorecard-table', undefined],
      ['check-file-missing', 'scoring.checks[0].files[0]'],
    ]);
    // Only the auto criterion without a check, at its row; the hybrid one may be scored by hand.
    const row = AUTO_TWICE.split('\n').findIndex((l) => l.includes('Second auto'));
    expect(of('k-unchecked')).toEqual([
      {
        code: 'criterion-unchecked',
        severity: 'warning',
        location: { file: 'benchmarks/k-unchecked/scorecard.md', line: row + 1, column: 3 },
        message: expect.stringContaining('"Second auto" has no check'),
      },
    ]);
    for (const c of CHECKS) {
      const file = `benchmarks/${c.slug}/runner.yaml`;
      const text = readFileSync(join(rig.dir, file), 'utf8');
      const found = of(c.slug);
      const expected = Object.entries(c.expect).map(([field, [code, message]]) => ({
        code,
        severity: 'error',
        field: `scoring.${field}`,
        location: { file, ...position(text, c.checks, field) },
        message: expect.stringMatching(message),
      }));
      expect(found, c.slug).toEqual(expected);
    }
  });

  it('checkFiles lists a nested hidden directory: sorted paths, modes and sha256 of the content', async () => {
    const entries = ['hidden-tests/', 'scorecard.md', 'hidden-tests/sub/c.bin'];
    const rig = await makeRig(
      benchmark('h', {}, { scoring: scoring({ criterion: 'out.txt exists', files: entries }) }),
    );
    const dir = join(rig.dir, 'benchmarks/h');
    const big = Buffer.from(Array.from({ length: 3_000_000 }, (_, i) => (i * 7919) % 251));
    const contents: Record<string, [Buffer, number]> = {
      'hidden-tests/Z.txt': [Buffer.from('Z\n'), 0o666],
      'hidden-tests/empty': [Buffer.alloc(0), 0o600],
      'hidden-tests/out.test.sh': [Buffer.from('test -f out.txt\n'), 0o755],
      'hidden-tests/sub-x.txt': [Buffer.from('x\n'), 0o644],
      'hidden-tests/sub/c.bin': [Buffer.from([0, 255, 10, 13, 0]), 0o640],
      'hidden-tests/sub/deep/.keep': [Buffer.from('k'), 0o644],
      'hidden-tests/sub/deep/big.dat': [big, 0o444],
      'scorecard.md': [Buffer.from(SCORECARD), 0o644],
    };
    mkdirSync(join(dir, 'hidden-tests/sub/deep'), { recursive: true });
    for (const [path, [content, mode]] of Object.entries(contents)) {
      writeFileSync(join(dir, path), content);
      chmodSync(join(dir, path), mode);
    }
    const bench = await loadBenchmark(dir);
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    // In code-unit order (`Z.txt` before `empty`, `sub-x.txt` before `sub/`), each once though named twice.
    const expected = Object.keys(contents)
      .sort()
      .map((path) => ({ path, mode: contents[path]![1], hash: sha(contents[path]![0]) }));
    const check = bench.manifest.scoring.checks[0]!;
    expect(await checkFiles(bench, check, 0)).toEqual({ files: expected, diagnostics: [] });

    // A link in the hidden directory is refused and left out; every other file is still listed.
    symlinkSync('/etc/hostname', join(dir, 'hidden-tests/sub/link'));
    const linked = await checkFiles(bench, check, 0);
    expect(linked.files).toEqual(expected);
    expect(linked.diagnostics).toEqual([
      expect.objectContaining({
        code: 'check-file-escapes',
        field: 'scoring.checks[0].files[0]',
        message: expect.stringContaining('contains the symlink hidden-tests/sub/link'),
      }),
    ]);
  });
});
