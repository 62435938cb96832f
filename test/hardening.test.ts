import { describe, expect, it } from 'vitest';
import { benchmarkFiles, makeRig } from './helpers/rig.js';

describe('the command line', () => {
  it('--help lists every command with its summary apart, whatever the name length', async () => {
    const rig = await makeRig();
    const r = await rig.cli(['--help']);
    const list = r.stdout.split('commands:\n')[1]!.split('\n\n')[0]!.split('\n');
    expect(list.length).toBeGreaterThan(5);
    for (const line of list) expect(line).toMatch(/^ {2}[a-z]+ {2,}\S/);
    // The summaries start in one column.
    expect(new Set(list.map((l) => /^ {2}[a-z]+ +/.exec(l)![0].length)).size).toBe(1);
  });

  for (const args of [
    ['plan', '--more', '200000'],
    ['run', '--attempts', '1000000'],
    ['run', '--more', '10001'],
  ]) {
    it(`${args.join(' ')} is refused with the limit, as a usage error`, async () => {
      const rig = await makeRig(benchmarkFiles('b'));
      const r = await rig.cli([...args, '--harness', 't']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('at most 10000 attempts per harness, model and variant');
      expect(await rig.invocations()).toBe(0);
    });
  }

  it('plans the most attempts a line may ask for', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['plan', '--harness', 't', '--attempts', '10000']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('attempts: 0 done, 10000 missing, 0 stale, 0 failed; run would execute 10000');
  });
});
