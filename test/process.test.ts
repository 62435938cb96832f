import { describe, expect, it } from 'vitest';
import { benchmarkFiles, makeRig, TOKEN } from './helpers/rig.js';

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
});
