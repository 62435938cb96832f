import { describe, expect, it } from 'vitest';
import { benchmarkFiles, configFile, makeRig, TOKEN } from './helpers/rig.js';

const log = 'benchmarks/b/eval-attempts/t-default-attempt-1/agent-run.log';

describe('harness processes and their output', () => {
  it('a token written half to stdout and half to stderr is masked in agent-run.log', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], { SPLIT_TOKEN: '1' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const text = await rig.read(log);
    expect(text).not.toContain(TOKEN);
    expect(text).toContain('split: ***');
    // Nothing else of it is left either.
    expect(text).not.toContain(TOKEN.slice(TOKEN.length / 2));
  });

  it('a timeout longer than a timer holds is refused before anything runs', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    for (const bad of ['600h', '0', '0s', '1e400', `${'9'.repeat(400)}s`, '-5s']) {
      const r = await rig.cli(['run', '--harness', 't', '--attempts', '1', `--timeout=${bad}`]);
      expect(r.code, `${bad}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`--timeout ${bad}:`);
    }
    expect(
      (await rig.cli(['run', '--harness', 't', '--attempts', '1', '--timeout', '600h'])).stderr,
    ).toContain('at most 596h 31m');
    expect(await rig.invocations()).toBe(0);

    await rig.write({ 'bench.config.mjs': configFile("timeout: '600h',") });
    const config = await rig.cli(['run', '--harness', 't', '--attempts', '1']);
    expect(config.code, config.stderr).toBe(2);
    expect(config.stderr).toMatch(/bench\.config\.mjs: timeout: must be at most 596h 31m/);
    await rig.write({ 'bench.config.mjs': configFile('timeout: 3e6,') });
    const seconds = await rig.cli(['run', '--harness', 't', '--attempts', '1']);
    expect(seconds.code, seconds.stderr).toBe(2);
    expect(seconds.stderr).toMatch(/bench\.config\.mjs: timeout: must be at most/);
    expect(await rig.invocations()).toBe(0);

    // The longest that fits works: the attempt is not timed out at once.
    await rig.write({ 'bench.config.mjs': configFile() });
    const longest = await rig.cli(['run', '--harness', 't', '--attempts', '1', '--timeout', '596h']);
    expect(longest.code, longest.stdout + longest.stderr).toBe(0);
    expect(longest.stderr).not.toContain('TimeoutOverflowWarning');
  });
});
