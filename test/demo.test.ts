import { execFileSync } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CLI, makeRig, REPO } from './helpers/rig.js';

describe('the shipped demo', () => {
  it('runs the example benchmark with the demo harness from a TypeScript config, and solves it', async () => {
    const rig = await makeRig();
    await cp(join(REPO, 'benchmarks/fizzbuzz-cli'), join(rig.dir, 'benchmarks/fizzbuzz-cli'), {
      recursive: true,
      filter: (src) => !/eval-attempts|\.pipeline/.test(src),
    });
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

  it("this repository's own config plans the demo with no side effects", () => {
    const out = execFileSync(process.execPath, [CLI, 'plan', '--harness', 'demo', '--json'], {
      cwd: REPO,
      encoding: 'utf8',
    });
    const nodes = JSON.parse(out).nodes as { task: string; benchmark: string }[];
    expect(nodes.filter((n) => n.task === 'run-harness')).toHaveLength(3);
    expect(new Set(nodes.map((n) => n.benchmark))).toEqual(new Set(['fizzbuzz-cli']));
  });
});
