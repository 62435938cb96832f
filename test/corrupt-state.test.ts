import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchmarkFiles, makeRig, type Rig } from './helpers/rig.js';

const marker = 'benchmarks/b/.pipeline/running/t-default-attempt-1.json';

/** Runs the CLI, but fails rather than hangs: waiting forever is the defect. */
async function bounded(rig: Rig, args: string[]) {
  const { child, done } = rig.spawnCli(args);
  const guard = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const result = await done.finally(() => clearTimeout(guard));
  expect(result.signal, `hung: ${result.stdout}`).toBeNull();
  return result;
}

describe('corrupt state is dead or missing, never waited on', () => {
  it.each([
    ['empty', ''],
    ['not JSON', '{"pid": 12'],
    ['of the wrong shape', '{"pid":"x","host":3}'],
  ])(
    'a running marker that is %s: status names it, run cleans it up and runs the attempt',
    async (_, content) => {
      const rig = await makeRig({ ...benchmarkFiles('b'), [marker]: content });
      const status = await rig.cli(['status']);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain('corrupt marker');
      expect(status.stdout).toContain('t-default-attempt-1.json');
      expect(status.stdout).toContain('cleaned up by the next run');

      const r = await bounded(rig, ['run', '--harness', 't', '--attempts', '1']);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/warn .*corrupt marker .*t-default-attempt-1\.json/);
      expect(await rig.ls('benchmarks/b/eval-attempts')).toEqual(['t-default-attempt-1']);
      expect(await rig.ls('benchmarks/b/.pipeline/running')).toEqual([]);
    },
  );

  it('cache prune removes a corrupt marker and says so', async () => {
    const rig = await makeRig({ ...benchmarkFiles('b'), [marker]: '' });
    const r = await rig.cli(['cache', 'prune']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('t-default-attempt-1.json');
    expect(await rig.ls('benchmarks/b/.pipeline/running')).toEqual([]);
  });

  it.each([
    ['{}', '{}'],
    ['an entry of the wrong shape', '[{"type":1}]'],
    ['not JSON', '[{"type":"file",'],
  ])('a seed template whose entries.json is %s is rebuilt, with a warning', async (_, content) => {
    const rig = await makeRig(benchmarkFiles('b'));
    expect((await rig.cli(['run', '--harness', 't', '--attempts', '1'])).code).toBe(0);
    const seeds = join(rig.dir, 'benchmarks/b/.pipeline/seeds');
    const [key] = (await readdir(seeds)).filter((n) => !n.startsWith('.'));
    await rig.write({ [`benchmarks/b/.pipeline/seeds/${key}/entries.json`]: content });

    const r = await bounded(rig, ['run', '--harness', 't', '--attempts', '2']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/warn .*entries\.json/);
    expect(await rig.ls('benchmarks/b/eval-attempts/t-default-attempt-2')).toContain('prompt.md');
    // The template was rebuilt whole: the next run uses it without a word.
    const again = await rig.cli(['run', '--harness', 't', '--attempts', '3']);
    expect(again.code, again.stdout).toBe(0);
    expect(again.stdout).not.toContain('entries.json');
  });
});
