import { describe, expect, it } from 'vitest';
import { makeRig } from './helpers/rig.js';

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
});
