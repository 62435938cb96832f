import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { copyEntries, walkTree } from '../pipeline/copy-tree.js';
import { benchmarkFiles, makeRig, type Rig } from './helpers/rig.js';

const ATTEMPT = 'benchmarks/b/eval-attempts/t-default-attempt-1';

const runLog = async (rig: Rig) => JSON.parse(await rig.read(`${ATTEMPT}/run-log.json`));

describe('collect: every entry the agent left', () => {
  it('copies names with a newline, a CR or U+2028 (and whole directories so named); names what it cannot copy', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], { ODD_NAMES: '1' });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    for (const name of ['line\nbreak.txt', 'carriage\rreturn.txt', 'separator\u2028.txt'])
      expect(await rig.read(`${ATTEMPT}/${name}`), JSON.stringify(name)).toBe(
        `content of ${JSON.stringify(name)}\n`,
      );
    expect(await rig.read(`${ATTEMPT}/dir\nwith-newline/deeper/inside.txt`)).toBe('inside\n');
    expect(rig.exists(`${ATTEMPT}/agent.sock`)).toBe(false);
    expect((await runLog(rig)).logLimitations).toEqual([
      'workspace entries not collected: agent.fifo (a FIFO; only files, directories and symlinks are copied), ' +
        'agent.sock (a socket; only files, directories and symlinks are copied)',
    ]);
    // run-log.md keeps one limitation a line, whatever the names hold.
    const md = await rig.read(`${ATTEMPT}/run-log.md`);
    expect(md).toContain('- workspace entries not collected: agent.fifo');
  });

  it('lists and copies (the seed and materialize path) names that a glob would skip', async () => {
    const root = await mkdtemp(join(tmpdir(), 'bp-copy-'));
    onTestFinished(() => rm(root, { recursive: true, force: true }));
    const names = ['a\nb.txt', 'c\rd.txt', 'e\u2028f.txt', 'g\nh/i.txt', '.hidden'];
    for (const name of names) {
      await mkdir(join(root, 'src', name, '..'), { recursive: true });
      await writeFile(join(root, 'src', name), name);
    }
    const { entries, leftOut } = await walkTree(join(root, 'src'));
    expect(leftOut).toEqual([]);
    expect(entries.filter((e) => e.type === 'file').map((e) => e.path)).toEqual([...names].sort());
    await copyEntries(entries, { from: join(root, 'src'), to: join(root, 'dest') });
    for (const name of names) expect(await readFile(join(root, 'dest', name), 'utf8')).toBe(name);
  });
});
