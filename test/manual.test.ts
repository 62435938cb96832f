import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allFiles, benchmarkFiles, makeRig, TOKEN } from './helpers/rig.js';

describe('manual harnesses: prepare and collect', () => {
  it('prepares a workspace with only the visible files, and collects it as the next attempt', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const prepared = await rig.cli(['prepare', 'b', '--model', 'gpt-5', '--harness', 'cursor']);
    expect(prepared.code, prepared.stderr).toBe(0);
    const workspace = prepared.stdout.split('\n')[0]!;
    expect(workspace.startsWith(rig.dir)).toBe(false);
    expect(readdirSync(workspace).sort()).toEqual(['context.md', 'prompt.md']);

    // The agent works there, and (carelessly) writes the token into a file.
    writeFileSync(join(workspace, 'out.txt'), 'done\n');
    writeFileSync(join(workspace, 'notes.txt'), `key ${TOKEN}\n`);
    const collected = await rig.cli(['collect', workspace]);
    expect(collected.code, collected.stderr).toBe(0);
    const dir = 'benchmarks/b/eval-attempts/cursor-gpt-5-attempt-1';
    expect(await rig.read(`${dir}/out.txt`)).toBe('done\n');
    const log = JSON.parse(await rig.read(`${dir}/run-log.json`));
    expect(log).toMatchObject({
      harness: { name: 'cursor' },
      model: { value: 'gpt-5' },
      isolationDeviations: ['manual harness, container isolation not available'],
      attempt: 1,
    });
    expect(await rig.read(`${dir}/run-log.md`)).toContain(
      'manual harness, container isolation not available',
    );
    const files = await allFiles(join(rig.dir, 'benchmarks'));
    expect(files.filter((f) => f.content.includes(TOKEN)).map((f) => f.path)).toEqual([]);
    expect(await readFile(join(workspace, 'notes.txt'), 'utf8')).not.toContain(TOKEN);

    // Once only; and the next prepared workspace becomes attempt 2.
    const again = await rig.cli(['collect', workspace]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already collected as');
    const second = (await rig.cli(['prepare', 'b', '--model', 'gpt-5', '--harness', 'cursor'])).stdout.split(
      '\n',
    )[0]!;
    expect((await rig.cli(['collect', second])).code).toBe(0);
    expect(existsSync(join(rig.dir, 'benchmarks/b/eval-attempts/cursor-gpt-5-attempt-2'))).toBe(true);
    expect(await rig.ls('benchmarks/b/.pipeline/running')).toEqual([]);
  });

  it('refuses what it cannot do, and says why', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const noModel = await rig.cli(['prepare', 'b']);
    expect(noModel.code).toBe(2);
    expect(noModel.stderr).toContain('--model');
    const stranger = await rig.cli(['collect', rig.dir]);
    expect(stranger.code).toBe(2);
    expect(stranger.stderr).toContain('not a workspace made by bench-pipeline prepare');
    await rig.write({
      'benchmarks/b/runner.yaml': (await rig.read('benchmarks/b/runner.yaml')).replace(
        '- context.md',
        '- scorecard.md',
      ),
    });
    const forbidden = await rig.cli(['prepare', 'b', '--model', 'm']);
    expect(forbidden.code).toBe(2);
    expect(forbidden.stderr).toContain('scorecard.md is never visible');
  });
});
