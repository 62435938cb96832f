import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchmarkFiles, makeRig, runnerYaml } from './helpers/rig.js';

/** Runs `run` and expects a refusal with exit 2, no harness started and no attempt written. */
async function expectRefused(rig: Awaited<ReturnType<typeof makeRig>>, args: string[] = []) {
  const result = await rig.cli(['run', '--harness', 't', ...args]);
  expect(result.code, result.stderr).toBe(2);
  expect(await rig.invocations()).toBe(0);
  expect((await rig.ls('benchmarks/b/eval-attempts')).filter((n) => n.includes('-attempt-'))).toEqual([]);
  return result.stderr;
}

describe('runner.yaml errors are located', () => {
  it('malformed YAML points at the line and column', async () => {
    const rig = await makeRig({
      ...benchmarkFiles('b'),
      'benchmarks/b/runner.yaml':
        'name: b\nstate_mode: greenfield\nmodel_visible_files: [prompt.md\nallowed_harnesses: [t]\n',
    });
    const stderr = await expectRefused(rig);
    expect(stderr).toMatch(/benchmarks\/b\/runner\.yaml:\d+:\d+: /);
    expect(stderr).toContain('not valid YAML');
  });

  it('schema errors name the field at its place', async () => {
    const rig = await makeRig({
      ...benchmarkFiles('b'),
      'benchmarks/b/runner.yaml':
        'name: b\nstate_mode: bluefield\nmodel_visble_files: [prompt.md]\nallowed_harnesses:\n  - t\n  - 7\nnetwork: closed\n',
    });
    const stderr = await expectRefused(rig);
    expect(stderr).toContain('benchmarks/b/runner.yaml:2:13: state_mode: ');
    expect(stderr).toContain('benchmarks/b/runner.yaml:3:1: model_visble_files: unknown field');
    expect(stderr).toContain('benchmarks/b/runner.yaml:6:5: allowed_harnesses[1]: ');
    expect(stderr).toMatch(/benchmarks\/b\/runner\.yaml:7:10: network: .*"open".*"model"/);
    expect(stderr).toMatch(/runner\.yaml:1:1: model_visible_files: /);
  });

  it('the name must equal the directory', async () => {
    const rig = await makeRig({ ...benchmarkFiles('b'), 'benchmarks/b/runner.yaml': runnerYaml('other') });
    const stderr = await expectRefused(rig);
    expect(stderr).toContain('benchmarks/b/runner.yaml:1:7: name: "other" must equal the directory name "b"');
  });
});

describe('visible files', () => {
  const forbidden = [
    'scorecard.md',
    'runner.yaml',
    'baseline-manifest.md',
    'eval-attempts/',
    'eval-results',
    '.pipeline/x',
  ];
  for (const entry of forbidden) {
    it(`refuses ${entry}, naming it`, async () => {
      const rig = await makeRig({
        ...benchmarkFiles('b', { model_visible_files: `\n  - prompt.md\n  - ${entry}` }),
        'benchmarks/b/baseline-manifest.md': 'm\n',
        'benchmarks/b/eval-results/r.csv': 'x\n',
        'benchmarks/b/eval-attempts/.keep': '',
        'benchmarks/b/.pipeline/x': '',
      });
      const stderr = await expectRefused(rig);
      expect(stderr).toContain(`benchmarks/b/runner.yaml:8:5: model_visible_files[1]: "${entry}"`);
      expect(stderr).toContain('is never visible to an attempt');
    });
  }

  it('refuses paths that lead outside: .., absolute, and symlinks out', async () => {
    const rig = await makeRig({
      ...benchmarkFiles('b', {
        model_visible_files: '\n  - prompt.md\n  - ../outside.md\n  - /etc/hostname\n  - link.md\n  - docs',
      }),
      'benchmarks/outside.md': 'outside\n',
      'benchmarks/b/docs/ok.md': 'fine\n',
    });
    await symlink('../outside.md', join(rig.dir, 'benchmarks/b/link.md'));
    await symlink('../scorecard.md', join(rig.dir, 'benchmarks/b/docs/score.md'));
    const stderr = await expectRefused(rig);
    expect(stderr).toContain('model_visible_files[1]: "../outside.md" leads outside the benchmark');
    expect(stderr).toContain('model_visible_files[2]: "/etc/hostname" is an absolute path');
    expect(stderr).toMatch(
      /model_visible_files\[3\]: "link\.md" leads outside the benchmark \(to .*outside\.md\)/,
    );
    expect(stderr).toContain(
      'model_visible_files[4]: "docs" contains a symlink that scorecard.md is never visible to an attempt: score.md',
    );
  });

  it('refuses a missing visible file and a missing prompt_file', async () => {
    const rig = await makeRig({
      ...benchmarkFiles('b', { prompt_file: 'task.md', model_visible_files: '\n  - prompt.md\n  - nope.md' }),
    });
    const stderr = await expectRefused(rig);
    expect(stderr).toContain('model_visible_files[1]: "nope.md" does not exist');
    expect(stderr).toContain('prompt_file: "task.md" does not exist');
  });
});

describe('harness selection', () => {
  it('refuses a harness that is not allowed', async () => {
    const rig = await makeRig({ ...benchmarkFiles('b', { allowed_harnesses: '\n  - claude-code' }) });
    const stderr = await expectRefused(rig);
    expect(stderr).toContain('--harness t is not allowed for this benchmark; allowed: claude-code');
  });

  it('refuses an unknown harness in allowed_harnesses', async () => {
    const rig = await makeRig({ ...benchmarkFiles('b', { allowed_harnesses: '\n  - t\n  - cursor' }) });
    const stderr = await expectRefused(rig);
    expect(stderr).toContain(
      'runner.yaml:11:5: allowed_harnesses[1]: unknown harness "cursor"; known: claude-code, codex, opencode, t',
    );
  });

  it('refuses opencode without a model', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const result = await rig.cli(['run', '--harness', 'opencode']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      'opencode has no vendor default model: pass --model or set defaults.opencode.model',
    );
  });

  it('refuses a missing token without printing any token', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const result = await rig.cli(['run', '--harness', 't'], { TEST_TOKEN: '' });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('TEST_TOKEN is not set; t needs it');
  });

  it('reports a harness CLI missing from PATH as an infrastructure error (exit 1)', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const result = await rig.cli(['run', '--harness', 'claude-code'], {
      ANTHROPIC_API_KEY: 'k',
      PATH: '/nonexistent',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('harness CLI not found on PATH: claude (claude-code, b)');
    expect(await rig.ls('benchmarks/b/eval-attempts')).toEqual([]);
  });
});

describe('config errors', () => {
  it('name the field', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    await rig.write({
      'bench.config.mjs': 'export default { harnesses: { t: { command: "node x.js" } }, concurency: 2 };\n',
    });
    const result = await rig.cli(['run', '--harness', 't']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('bench.config.mjs: harnesses.t.command: ');
    expect(result.stderr).toContain('bench.config.mjs: concurency: unknown field');
  });

  it('say which benchmarks exist when none is named and there are several', async () => {
    const rig = await makeRig({ ...benchmarkFiles('a'), ...benchmarkFiles('b') });
    const result = await rig.cli(['plan']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('several benchmarks in benchmarks/; name one or more: a, b');
    const unknown = await rig.cli(['plan', 'c']);
    expect(unknown.stderr).toContain('no benchmark "c" in benchmarks/; available: a, b');
  });

  it('reject bad flags with a usage error', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    for (const args of [
      ['run', '--attempts', '0'],
      ['run', '--rerun', 'all'],
      ['run', '--bogus'],
      ['frobnicate'],
    ]) {
      const result = await rig.cli(args);
      expect(result.code, args.join(' ')).toBe(2);
    }
  });
});
