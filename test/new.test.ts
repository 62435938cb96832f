import { spawn, spawnSync } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLI, makeRig, type Rig } from './helpers/rig.js';

interface Finding {
  code: string;
  severity: string;
}

/**
 * `validate <slug> --json`: its exit code, each finding as `severity code` apart from the
 * `todo-left` warnings at the TODO(author) markers `new` leaves on purpose, and their count.
 */
async function validate(
  rig: Rig,
  slug: string,
): Promise<{ code: number | null; findings: string[]; todos: number }> {
  const r = await rig.cli(['validate', slug, '--json']);
  const { benchmarks } = JSON.parse(r.stdout) as { benchmarks: { findings: Finding[] }[] };
  const all = benchmarks[0]!.findings;
  return {
    code: r.code,
    findings: all.filter((f) => f.code !== 'todo-left').map((f) => `${f.severity} ${f.code}`),
    todos: all.filter((f) => f.code === 'todo-left' && f.severity === 'warning').length,
  };
}

async function manifest(rig: Rig, slug: string): Promise<Record<string, unknown>> {
  return parse(await rig.read(`benchmarks/${slug}/runner.yaml`)) as Record<string, unknown>;
}

/** Whatever `new` might leave beside benchmarks/ if it stopped half-way. */
async function leftovers(rig: Rig): Promise<string[]> {
  return (await readdir(rig.dir)).filter((f) => f.startsWith('.bench-new-'));
}

const IMAGE = /^ghcr\.io\/[a-z0-9-]+\/pkg:\d{4}-\d{2}-\d{2}$/;

describe('new, in flag mode (not a TTY)', () => {
  for (const stateMode of ['greenfield', 'brownfield'] as const) {
    for (const path of ['docker', 'lite', 'both'] as const) {
      it(`${stateMode} on the ${path} path: a package that validates`, async () => {
        const rig = await makeRig();
        const r = await rig.cli(['new', 'pkg', '--state-mode', stateMode, '--path', path]);
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toContain('Created benchmarks/pkg/');
        expect(r.stdout).toContain('bench-pipeline validate pkg');
        expect(r.stdout).toMatch(/bench-pipeline run pkg --harness claude-code --timeout 30m/);

        // No Dockerfile is generated (it depends on the stack's runtime): the docker path warns
        // about exactly that, and nothing else; the lite path is clean.
        const docker = path !== 'lite';
        const v = await validate(rig, 'pkg');
        expect(v.code).toBe(0);
        expect(v.findings).toEqual(docker ? ['warning dockerfile-missing'] : []);
        expect(v.todos).toBeGreaterThan(0);
        if (docker) {
          await rig.write({ 'benchmarks/pkg/Dockerfile': 'FROM scratch\n' });
          expect((await validate(rig, 'pkg')).findings).toEqual([]);
        }

        const brown = stateMode === 'brownfield';
        expect(await rig.ls('benchmarks/pkg')).toEqual(
          [
            'context.md',
            'prompt.md',
            'runner.yaml',
            'scorecard.md',
            ...(brown ? ['baseline', 'baseline-manifest.md'] : []),
            ...(docker ? ['Dockerfile'] : []),
          ].sort(),
        );
        const m = await manifest(rig, 'pkg');
        expect(m.state_mode).toBe(stateMode);
        expect(m.model_visible_files).toEqual(['prompt.md', 'context.md', ...(brown ? ['baseline'] : [])]);
        if (brown) {
          expect(await rig.ls('benchmarks/pkg/baseline')).toEqual(['README.md']);
          const bm = await rig.read('benchmarks/pkg/baseline-manifest.md');
          for (const f of ['`prompt.md`', '`context.md`', '`baseline`', '`scorecard.md`', 'Reset procedure'])
            expect(bm).toContain(f);
        }
        const scorecard = await rig.read('benchmarks/pkg/scorecard.md');
        expect(scorecard).toContain('| Criterion | Max | Method | Evidence required |');
        expect(scorecard).toContain('Criterion,Score,Max,Notes,Evidence');
        expect(scorecard).toMatch(/Bootstrap is (not )?scored/);
        const prompt = await rig.read('benchmarks/pkg/prompt.md');
        expect(prompt).toContain('Do not ask follow-up questions');
        expect(prompt).toContain(brown ? 'Modify this project' : 'You start in an empty directory');
        expect(prompt).toContain('TODO(author)');
        expect(await leftovers(rig)).toEqual([]);
      });
    }
  }

  it('with no flag, every answer is the recommended one', async () => {
    const rig = await makeRig();
    const r = await rig.cli(['new', 'pkg']);
    expect(r.code, r.stderr).toBe(0);
    expect(await manifest(rig, 'pkg')).toEqual({
      name: 'pkg',
      display_name: 'Pkg',
      state_mode: 'greenfield',
      attempts_default: 3,
      prompt_file: 'prompt.md',
      model_visible_files: ['prompt.md', 'context.md'],
      allowed_harnesses: ['claude-code', 'codex', 'opencode'],
      defaults: { opencode: { model: 'openrouter/z-ai/glm-4.7' } },
    });
    expect(await rig.read('benchmarks/pkg/scorecard.md')).toContain('Bootstrap is scored');
  });

  it('the docker path writes the image and the Dockerfile reminder; the lite path neither', async () => {
    const rig = await makeRig();
    const docker = await rig.cli(['new', 'pkg', '--path', 'docker']);
    expect(docker.code, docker.stderr).toBe(0);
    expect((await manifest(rig, 'pkg')).image).toMatch(IMAGE);
    expect(docker.stdout).toContain('write benchmarks/pkg/Dockerfile');
    expect(docker.stdout).toContain('bench-pipeline images build pkg');

    const given = await rig.cli(['new', 'pkg2', '--image', 'registry.example/team/pkg2:v1']);
    expect(given.code, given.stderr).toBe(0);
    expect((await manifest(rig, 'pkg2')).image).toBe('registry.example/team/pkg2:v1');

    const lite = await rig.cli(['new', 'pkg3', '--path', 'lite']);
    expect(lite.code, lite.stderr).toBe(0);
    expect(await manifest(rig, 'pkg3')).not.toHaveProperty('image');
    expect(await rig.read('benchmarks/pkg3/runner.yaml')).toMatch(/# No image: the lite path only/);
    expect(lite.stdout).not.toContain('images build');
  });

  it('--bootstrap writes bootstrap.md and makes it model-visible', async () => {
    const rig = await makeRig();
    for (const mode of ['greenfield', 'brownfield']) {
      const r = await rig.cli(['new', `pkg-${mode}`, '--state-mode', mode, '--bootstrap']);
      expect(r.code, r.stderr).toBe(0);
      const visible = (await manifest(rig, `pkg-${mode}`)).model_visible_files;
      expect(visible).toContain('bootstrap.md');
      expect(await rig.ls(`benchmarks/pkg-${mode}`)).toContain('bootstrap.md');
      expect((await validate(rig, `pkg-${mode}`)).findings).toEqual([]);
    }
    expect(await rig.read('benchmarks/pkg-greenfield/bootstrap.md')).toContain('Official bootstrap command');
    expect(await rig.read('benchmarks/pkg-greenfield/scorecard.md')).toContain('Bootstrap is not scored');
    expect(await rig.read('benchmarks/pkg-brownfield/baseline-manifest.md')).toContain('`bootstrap.md`');
  });

  it('the answers reach the package', async () => {
    const rig = await makeRig();
    const r = await rig.cli([
      ...['new', 'pkg', '--display-name', 'Fix: the parser', '--task-type', 'bugfix', '--stack', 'go'],
      ...['--timebox', '1h', '--network', 'none', '--constraint', 'No new dependencies.'],
      ...['--harness', 'claude-code,t', '--artifact', 'migration'],
    ]);
    expect(r.code, r.stderr).toBe(0);
    const m = await manifest(rig, 'pkg');
    // A bugfix changes something that exists: brownfield is its recommended state mode.
    expect(m).toMatchObject({ display_name: 'Fix: the parser', state_mode: 'brownfield' });
    expect(m.allowed_harnesses).toEqual(['claude-code', 't']);
    expect(m).not.toHaveProperty('defaults');
    const prompt = await rig.read('benchmarks/pkg/prompt.md');
    for (const text of ['Go 1.22', 'go test ./...', 'about 1h', 'Network: none', 'No new dependencies.'])
      expect(prompt).toContain(text);
    expect(prompt).toContain('can be rolled back');
    expect((await validate(rig, 'pkg')).findings).toEqual([]);
  });

  it('refuses an invalid slug, an existing benchmark and bad answers with exit 2, creating nothing', async () => {
    const rig = await makeRig({ 'benchmarks/taken/runner.yaml': 'name: taken\n' });
    for (const slug of ['Bad_Slug', 'trailing-', 'two--hyphens']) {
      const r = await rig.cli(['new', slug]);
      expect(r.code, slug).toBe(2);
      expect(r.stderr).toContain(`"${slug}" is not a valid slug`);
    }
    const taken = await rig.cli(['new', 'taken', '--state-mode', 'brownfield']);
    expect(taken.code).toBe(2);
    expect(taken.stderr).toContain('benchmarks/taken already exists');
    expect(await rig.ls('benchmarks/taken')).toEqual(['runner.yaml']);
    expect(await rig.read('benchmarks/taken/runner.yaml')).toBe('name: taken\n');

    const bad: [string[], RegExp][] = [
      [['--path', 'cloud'], /--path "cloud": choose from lite, docker, both/],
      [['--state-mode', 'bluefield'], /--state-mode "bluefield": choose from greenfield, brownfield/],
      [
        ['--harness', 'claude-code,nope'],
        /--harness "claude-code,nope": choose from claude-code, codex, opencode, t/,
      ],
      [['--image', 'x/y:1', '--path', 'lite'], /--image is for the docker path/],
      [['--harness', 'codex', '--opencode-model', 'm'], /opencode is not among the harnesses/],
      [['--timebox', 'soon'], /--timebox "soon": must be a duration/],
      [[], /usage: bench-pipeline new <slug>/],
    ];
    for (const [flags, message] of bad) {
      const r = await rig.cli(['new', ...(flags.length ? ['fresh'] : []), ...flags]);
      expect(r.code, flags.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    expect(await rig.ls('benchmarks')).toEqual(['taken']);
    expect(await leftovers(rig)).toEqual([]);
  });
});

const hasScript = spawnSync('script', ['--version']).status === 0;

/**
 * Runs the CLI on a pseudo-terminal (util-linux `script`), typing `keys` once the first question
 * shows. stdin stays open until the CLI exits, as a person's terminal would.
 */
function onTerminal(
  dir: string,
  args: string[],
  keys: string,
): Promise<{ code: number | null; out: string }> {
  const command = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: dir, stdio: 'pipe' });
  child.stdin.on('error', () => {});
  let out = '';
  let typed = false;
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (!typed && out.includes('] > ')) {
      typed = true;
      child.stdin.write(keys);
    }
  });
  return new Promise((resolve) =>
    child.on('close', (code) => {
      child.stdin.end();
      resolve({ code, out });
    }),
  );
}

describe.skipIf(!hasScript)('new, on a terminal', () => {
  it('asks each open question with its options; Enter takes the recommended answer', async () => {
    const rig = await makeRig();
    const answers = [
      'TTY demo', // display name
      '6', // task type: bugfix
      // audience: answered by --audience below
      'go', // stack
      '', // state mode: brownfield, recommended for a bugfix
      '', // artifact
      '45m', // timebox
      'none', // network
      'No new dependencies.', // other constraints
      '1,2', // harnesses: claude-code, codex (so no opencode model question)
      'docker', // path
      '', // image: the recommended one
      'y', // bootstrap.md
      '', // create it
    ];
    const r = await onTerminal(rig.dir, ['new', 'pkg', '--audience', 'senior'], `${answers.join('\r')}\r`);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toMatch(/Task type\r?\n(.*\r?\n)*\s+3\) CLI {2}\(recommended\)/);
    expect(r.out).not.toContain('Audience and difficulty'); // answered by its flag
    expect(r.out).not.toMatch(/choose \d/); // every answer was taken at the first try
    expect(r.out).toContain('Created benchmarks/pkg/');
    const m = await manifest(rig, 'pkg');
    expect(m).toMatchObject({
      display_name: 'TTY demo',
      state_mode: 'brownfield',
      allowed_harnesses: ['claude-code', 'codex'],
      model_visible_files: ['prompt.md', 'context.md', 'bootstrap.md', 'baseline'],
    });
    expect(m.image).toMatch(IMAGE);
    const prompt = await rig.read('benchmarks/pkg/prompt.md');
    for (const text of ['Go 1.22', 'about 45m', 'Network: none', 'No new dependencies.'])
      expect(prompt).toContain(text);
    expect((await validate(rig, 'pkg')).findings).toEqual(['warning dockerfile-missing']);
  });

  it('Ctrl-C cancels with exit 2 and creates nothing', async () => {
    const rig = await makeRig();
    const r = await onTerminal(rig.dir, ['new', 'pkg'], '\u0003');
    expect(r.code).toBe(2);
    expect(r.out).toContain('cancelled; nothing was created');
    expect(rig.exists('benchmarks/pkg')).toBe(false);
    expect(await leftovers(rig)).toEqual([]);
  });
});
