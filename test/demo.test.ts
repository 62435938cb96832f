import { execFileSync } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, makeRig, REPO, type Rig, relativeFiles } from './helpers/rig.js';

/** A rig holding copies of the shipped `benchmarks` and the demo agent, declared as `demo` in bench.config.ts. */
async function demoRig(benchmarks: string[]): Promise<Rig> {
  const rig = await makeRig();
  for (const slug of benchmarks) {
    await cp(join(REPO, 'benchmarks', slug), join(rig.dir, 'benchmarks', slug), {
      recursive: true,
      filter: (src) => !/eval-attempts|\.pipeline/.test(src),
    });
  }
  await cp(join(REPO, 'tasks/harnesses/demo-agent.mjs'), join(rig.dir, 'agents/demo-agent.mjs'));
  await rig.write({
    'bench.config.ts': `import { defineConfig } from ${JSON.stringify(join(REPO, 'dist/pipeline/index.js'))};

const timeout: string = '5m';
export default defineConfig({
  timeout,
  harnesses: {
    demo: {
      command: ['node', './agents/demo-agent.mjs'],
      versionCommand: ['node', './agents/demo-agent.mjs', '--version'],
    },
  },
});
`,
  });
  return rig;
}

describe('the shipped demo', () => {
  it('runs the example benchmark with the demo harness from a TypeScript config, and solves it', async () => {
    const rig = await demoRig(['fizzbuzz-cli']);
    const r = await rig.cli(['run', '--harness', 'demo', '--config', 'bench.config.ts']);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('3 completed (3 succeeded, 0 failed, 0 timed out)');
    const attempt = join(rig.dir, 'benchmarks/fizzbuzz-cli/eval-attempts/demo-default-attempt-1');
    // The attempt's own deliverables work: its tests pass and the CLI prints FizzBuzz.
    execFileSync(process.execPath, ['--test'], { cwd: attempt, stdio: 'pipe' });
    const out = execFileSync(process.execPath, ['fizzbuzz.mjs', '15'], { cwd: attempt, encoding: 'utf8' });
    expect(out.trim().split('\n').at(-1)).toBe('FizzBuzz');
    const log = JSON.parse(
      await rig.read('benchmarks/fizzbuzz-cli/eval-attempts/demo-default-attempt-1/run-log.json'),
    );
    expect(log.harness.cliVersion).toBe('demo-agent 1.0.0');
    expect(log.benchmark.displayName).toBe('FizzBuzz command-line tool');
  });

  it('solves the brownfield example on top of its baseline: the fix and the feature, tests passing', async () => {
    const slug = 'todo-cli-bugfix';
    const rig = await demoRig([slug]);
    const r = await rig.cli([
      'run',
      slug,
      '--harness',
      'demo',
      '--attempts',
      '1',
      '--clean',
      '--config',
      'bench.config.ts',
    ]);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.stdout).toContain('1 completed (1 succeeded, 0 failed, 0 timed out)');
    const attempt = join(rig.dir, `benchmarks/${slug}/eval-attempts/demo-default-attempt-1`);

    // The workspace started from the baseline: each of its files is in the attempt, at the root.
    const baseline = await relativeFiles(join(REPO, `benchmarks/${slug}/baseline`));
    expect(baseline).toContain('src/todos.mjs');
    expect(await relativeFiles(attempt)).toEqual(
      expect.arrayContaining([...baseline, 'prompt.md', 'context.md', 'run-log.json']),
    );
    expect(rig.exists(`benchmarks/${slug}/eval-attempts/demo-default-attempt-1/scorecard.md`)).toBe(false);
    const log = JSON.parse(
      await rig.read(`benchmarks/${slug}/eval-attempts/demo-default-attempt-1/run-log.json`),
    );
    expect(log.stateMode).toBe('brownfield');
    expect(log.baselineSource).toContain(`(${baseline.length} files)`);

    // The fix: after a removal, a new todo gets an id no other todo has, through the CLI too.
    const todos = await rig.read(`benchmarks/${slug}/eval-attempts/demo-default-attempt-1/src/todos.mjs`);
    expect(todos).not.toContain('id: todos.length + 1');
    const env = { ...process.env, TODO_FILE: join(rig.dir, 'todo.json') };
    const todo = (...args: string[]) =>
      execFileSync(process.execPath, ['bin/todo.mjs', ...args], {
        cwd: attempt,
        env,
        encoding: 'utf8',
      }).trim();
    for (const text of ['a', 'b', 'c']) todo('add', text);
    todo('rm', '1');
    expect(todo('add', 'd')).toBe('Added 4: d');
    // The feature.
    todo('done', '2');
    expect(todo('clear')).toBe('Cleared 1 done todo.');
    expect(todo('list')).toBe('3 [ ] c\n4 [ ] d');

    // The attempt's own tests, the baseline's and the ones the demo added, pass.
    const tests = execFileSync(process.execPath, ['--test'], {
      cwd: attempt,
      encoding: 'utf8',
      stdio: 'pipe',
    });
    expect(tests).toMatch(/^# fail 0$/m);
  });

  it('the demo run, then score: the hidden checks give real scores, and a second score runs none', async () => {
    const rig = await demoRig(['fizzbuzz-cli', 'todo-cli-bugfix']);
    const config = ['--config', 'bench.config.ts'];
    const run = await rig.cli([
      'run',
      'fizzbuzz-cli',
      'todo-cli-bugfix',
      '--harness',
      'demo',
      '--attempts',
      '1',
      ...config,
    ]);
    expect(run.code, run.stderr + run.stdout).toBe(0);
    const score = await rig.cli(['score', ...config]);
    expect(score.code, score.stderr + score.stdout).toBe(0);
    // The demo agent's slips: exit 1 for an invalid N; new todo ids from the last todo, not the highest.
    expect(score.stdout).toContain(
      'score  fizzbuzz-cli/demo-default-attempt-1  9/11, 1 row to score by hand',
    );
    expect(score.stdout).toContain(
      'score  todo-cli-bugfix/demo-default-attempt-1  18/22, 2 rows to score by hand',
    );
    const csv = await rig.read('benchmarks/fizzbuzz-cli/eval-results/demo-default-attempt-1/score.csv');
    expect(csv).toMatch(/^Invalid N exits 2 with a usage line on stderr,1,2,"SCORE 1\/2, exit 1: /m);
    const again = await rig.cli(['score', ...config]);
    expect(again.stdout).toContain('0 scored, 2 already scored, 0 failed');
  });

  it("this repository's own config plans the demo with no side effects", () => {
    const benchmarks = ['fizzbuzz-cli', 'todo-cli-bugfix'];
    const out = execFileSync(process.execPath, [CLI, 'plan', ...benchmarks, '--harness', 'demo', '--json'], {
      cwd: REPO,
      encoding: 'utf8',
    });
    const nodes = JSON.parse(out).nodes as { task: string; benchmark: string }[];
    expect(nodes.filter((n) => n.task === 'run-harness')).toHaveLength(6);
    expect(new Set(nodes.map((n) => n.benchmark))).toEqual(new Set(benchmarks));
  });
});
