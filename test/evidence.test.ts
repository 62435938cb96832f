import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchmarkFiles, configFile, makeRig } from './helpers/rig.js';

const runLog = async (rig: Awaited<ReturnType<typeof makeRig>>, name: string) =>
  JSON.parse(await rig.read(`benchmarks/b/eval-attempts/${name}/run-log.json`));

describe('lite-mode evidence', () => {
  it('an attempt that changes the benchmark package or plants an attempt directory is recorded as an isolation breach', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], {
      BREACH_DIR: join(rig.dir, 'benchmarks/b'),
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const log = await runLog(rig, 't-default-attempt-1');
    const breaches: string[] = log.isolationBreaches;
    expect(breaches).toEqual(
      expect.arrayContaining([
        expect.stringContaining('prompt.md changed'),
        expect.stringContaining('notes.txt added'),
        expect.stringContaining('eval-attempts/planted'),
      ]),
    );
    expect(breaches).toHaveLength(3);
    const md = await rig.read('benchmarks/b/eval-attempts/t-default-attempt-1/run-log.md');
    expect(md).toContain('## isolation_breaches');
    expect(md).toContain('prompt.md changed');
    expect(r.stdout).toContain('isolation breaches');
    expect(r.stdout).toMatch(/b\/t-default-attempt-1: .*notes\.txt added/);

    // An attempt that keeps to its workspace has none; the planted directory is no longer new.
    const clean = await rig.cli(['run', '--harness', 't', '--attempts', '2']);
    expect(clean.code, clean.stdout).toBe(0);
    expect((await runLog(rig, 't-default-attempt-2')).isolationBreaches).toEqual([]);
    expect(clean.stdout).not.toContain('isolation breaches');
  });

  it('with concurrent attempts of the benchmark, a breach is recorded in each that ran then, saying so', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    await rig.write({
      'bench.config.mjs': configFile().replace(
        "env: { EXTRA: 'from-config' },",
        `env: { EXTRA: 'from-config', HARNESS_SLEEP_MS: '1500' },`,
      ),
    });
    // Both run at once, so neither change can be told apart from the other's.
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '2', '--concurrency', '2'], {
      BREACH_DIR: join(rig.dir, 'benchmarks/b'),
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    for (const [self, other] of [
      ['t-default-attempt-1', 't-default-attempt-2'],
      ['t-default-attempt-2', 't-default-attempt-1'],
    ]) {
      const breaches: string[] = (await runLog(rig, self!)).isolationBreaches;
      expect(breaches.length, self).toBeGreaterThan(0);
      for (const b of breaches) expect(b).toContain(other);
    }
  });

  it("a custom harness gets a home of its own, not the invoking user's ~; home: false opts out", async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], { HOME_REPORT: '1' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const workspace: string = (await runLog(rig, 't-default-attempt-1')).workspace.path;
    const [home, config, tmp] = (
      await rig.read('benchmarks/b/eval-attempts/t-default-attempt-1/home.txt')
    ).split('\n');
    expect(home).toBe(`${workspace}.home`);
    expect(config).toBe(`${workspace}.home/.config`);
    expect(tmp).toBe(`${workspace}.home/tmp`);

    await rig.write({
      'bench.config.mjs': configFile().replace(
        "env: { EXTRA: 'from-config' },",
        "env: { EXTRA: 'x' }, home: false,",
      ),
    });
    const own = await rig.cli(['run', '--harness', 't', '--attempts', '2'], { HOME_REPORT: '1' });
    expect(own.code, own.stdout + own.stderr).toBe(0);
    expect((await rig.read('benchmarks/b/eval-attempts/t-default-attempt-2/home.txt')).split('\n')[0]).toBe(
      process.env.HOME ?? homedir(),
    );
  });
});
