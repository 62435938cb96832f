import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { copyEntries, walkTree } from '../pipeline/copy-tree.js';
import { benchmarkFiles, type CliResult, configFile, makeRig, type Rig, TOKEN } from './helpers/rig.js';

const ATTEMPT = 'benchmarks/b/eval-attempts/t-default-attempt-1';

const runLog = async (rig: Rig) => JSON.parse(await rig.read(`${ATTEMPT}/run-log.json`));

/** The CLI under /usr/bin/time, for its peak resident set size (bytes) as the kernel counted it. */
async function cliWithPeakRss(
  rig: Rig,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<CliResult & { rss: number }> {
  const r = await rig.cli(args, env, ['/usr/bin/time', '-f', 'peak-rss-kb=%M']);
  const kb = /peak-rss-kb=(\d+)/.exec(r.stderr)?.[1];
  if (!kb) throw new Error(`no peak RSS in: ${r.stderr}`);
  return { ...r, rss: Number(kb) * 1024 };
}

/** Bytes the file really occupies on disk. */
const allocated = async (path: string) => (await stat(path)).blocks * 512;

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

describe('collect: large and sparse files', () => {
  it('collects a 3 GiB sparse file, still sparse, and masks a token inside a sparse file keeping its holes', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], {
      SPARSE_GB: '3',
      SPARSE_TOKEN_MB: '64',
    });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const big = join(rig.dir, ATTEMPT, 'sparse.bin');
    expect((await stat(big)).size).toBe(3 * 2 ** 30);
    expect(await allocated(big)).toBeLessThan(2 ** 20);
    const tail = Buffer.alloc(4);
    const { open } = await import('node:fs/promises');
    const handle = await open(big, 'r');
    await handle.read(tail, 0, 4, 3 * 2 ** 30 - 10_000);
    await handle.close();
    expect(tail.toString()).toBe('data');

    const log = await runLog(rig);
    const masked = join(rig.dir, ATTEMPT, 'sparse-token.bin');
    const size = 64 * 2 ** 20;
    // The copy has `***` for the token; the original is gone from the workspace.
    expect((await stat(masked)).size).toBe(size - TOKEN.length + 3);
    expect(await allocated(masked)).toBeLessThan(2 ** 20);
    expect((await readFile(masked)).includes(TOKEN)).toBe(false);
    expect(log.workspace.left).toBe('nothing');
    expect(log.logLimitations).toEqual(['a token was masked in workspace files: sparse-token.bin']);
  });

  it('masks a token in a 300 MB file (across chunk boundaries) with the CLI staying far below its size', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await cliWithPeakRss(rig, ['run', '--harness', 't', '--attempts', '1'], {
      DENSE_TOKEN_MB: '300',
    });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(r.rss).toBeLessThan(200 * 2 ** 20);
    const copy = await readFile(join(rig.dir, ATTEMPT, 'dense.bin'));
    expect(copy.includes(TOKEN)).toBe(false);
    expect(copy.length).toBe(300 * 2 ** 20 - 299 * (TOKEN.length - 3));
    expect(copy.subarray(2 ** 20 - 5, 2 ** 20 - 2).toString()).toBe('***');
    expect((await runLog(rig)).workspace.left).toBe('nothing');
  });

  it('leaves a file over collect.maxFileSize behind and names it with its size and the cap', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    await rig.write({ 'bench.config.mjs': configFile("collect: { maxFileSize: '1m' },") });
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], { BIG_FILE_MB: '2' });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    expect(rig.exists(`${ATTEMPT}/big.bin`)).toBe(false);
    expect(rig.exists(`${ATTEMPT}/out.txt`)).toBe(true);
    const log = await runLog(rig);
    expect(log.outcome).toBe('succeeded');
    expect(log.logLimitations).toEqual([
      'workspace entries not collected: big.bin (2.0 MiB, over the 1.0 MiB cap (collect.maxFileSize))',
    ]);
    expect((await stat(join(log.workspace.path, 'big.bin'))).size).toBe(2 * 2 ** 20);
  });
});
