import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import {
  appendFile,
  link,
  lstat,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { walkTree } from '../pipeline/copy-tree.js';
import { Redactor } from '../pipeline/redact.js';
import { taskKey } from '../pipeline/task.js';
import { transferEntries } from '../pipeline/transfer-tree.js';
import { collect } from '../tasks/collect.js';
import { benchmarkFiles, configFile, makeRig, type Rig, TOKEN } from './helpers/rig.js';

const attempt = (n: number) => `benchmarks/b/eval-attempts/t-default-attempt-${n}`;
const runLog = async (rig: Rig, n: number) => JSON.parse(await rig.read(`${attempt(n)}/run-log.json`));

/** The inode numbers the harness saw (INODE_REPORT): of out.txt, and of prompt.md as it was given. */
const reported = async (rig: Rig, n: number) =>
  (await rig.read(`${attempt(n)}/inodes.txt`)).trim().split('\n').map(Number) as [number, number];

/** Moved, not copied: attempt n's files are the very ones its harness wrote and was given, with one name each. */
async function expectMoved(rig: Rig, n: number): Promise<void> {
  const [out, prompt] = await reported(rig, n);
  for (const [name, ino] of [
    ['out.txt', out],
    ['prompt.md', prompt],
  ] as const) {
    const published = await stat(join(rig.dir, attempt(n), name));
    expect([published.ino, published.nlink], name).toEqual([ino, 1]);
  }
}

/** A new directory with a tmpfs mounted on it, gone when the test ends; undefined where mount is not allowed. */
async function tmpfs(parent = tmpdir()): Promise<string | undefined> {
  const dir = await mkdtemp(join(parent, 'bp-other-fs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    await rm(dir, { recursive: true, force: true });
    return undefined;
  }
  onTestFinished(async () => {
    execFileSync('umount', ['-l', dir]);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

/** Every entry under `root` but the tool's own files: a file as its content, a link as its target. */
async function tree(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(root, { withFileTypes: true, recursive: true })) {
    const path = join(e.parentPath, e.name).slice(root.length + 1);
    if (/^(agent-run\.log|run-log\.(json|md)|inodes\.txt)$/.test(path)) continue;
    if (e.isSymbolicLink()) out[path] = `-> ${await readlink(join(root, path))}`;
    else if (e.isFile()) out[path] = await readFile(join(root, path), 'utf8');
    else out[path] = e.isDirectory() ? '(dir)' : '(other)';
  }
  return out;
}

/** What the fixture harness leaves for collect to sort out: masked names and contents, reserved names, a socket and a FIFO. */
const AWKWARD = {
  TOKEN_NAMES: '1',
  ODD_NAMES: '1',
  WRITE_RESERVED: '1',
  WRITE_TOKEN: '1',
  INODE_REPORT: '1',
};

/** AWKWARD and two files over a 1 MiB collect.maxFileSize, one of them holding the token. */
const OVERSIZED = { ...AWKWARD, BIG_FILE_MB: '2', SPARSE_TOKEN_MB: '2' };
const CAP = configFile("collect: { maxFileSize: '1m' },");

/** The inode numbers of every file and link under `root`. */
async function inodes(root: string): Promise<Set<number>> {
  const out = new Set<number>();
  for (const e of await readdir(root, { withFileTypes: true, recursive: true }))
    if (!e.isDirectory()) out.add((await lstat(join(e.parentPath, e.name))).ino);
  return out;
}

describe('collect moves the workspace into the attempt', () => {
  it("kept (the default): the files are the attempt's; what was not collected stays, masked, sharing nothing with it", async (ctx) => {
    const rig = await makeRig({ ...benchmarkFiles('b'), 'bench.config.mjs': CAP });
    if (statSync(rig.dir).dev !== statSync(tmpdir()).dev) return ctx.skip();
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], OVERSIZED);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const log = await runLog(rig, 1);
    const workspace: string = log.workspace.path;
    await expectMoved(rig, 1);
    // Left: what was not collected, and nothing else.
    expect((await readdir(workspace)).sort()).toEqual([
      'agent.fifo',
      'agent.sock',
      'big.bin',
      'sparse-token.bin',
    ]);
    expect((await stat(join(workspace, 'big.bin'))).size).toBe(2 * 2 ** 20);
    expect(log.workspace).toEqual({ path: workspace, kept: true, left: 'kept' });
    expect(log.logLimitations).toContain(
      'workspace entries not collected: agent.fifo (a FIFO; only files, directories and symlinks are copied), ' +
        'agent.sock (a socket; only files, directories and symlinks are copied), ' +
        'big.bin (2.0 MiB, over the 1.0 MiB cap (collect.maxFileSize)), ' +
        'sparse-token.bin (2.0 MiB, over the 1.0 MiB cap (collect.maxFileSize))',
    );
    expect(await rig.read(`${attempt(1)}/run-log.md`)).toContain(
      `| temp_workspace | files moved into the attempt; what was not collected is kept at ${workspace} |`,
    );
    expect(r.stdout).toContain('temp workspaces kept (files moved into the attempts;');
    expect(r.stdout).toContain(`  ${workspace}\n`);

    // The token: masked in the attempt; the original gone; masked in place in what stays.
    expect(await rig.read(`${attempt(1)}/secret.txt`)).toBe('leaked ***\n');
    const kept = await readFile(join(workspace, 'sparse-token.bin'));
    expect(kept.includes(TOKEN)).toBe(false);
    expect(kept.includes(`key=${'*'.repeat(TOKEN.length)};`)).toBe(true);
    expect(JSON.stringify(await tree(join(rig.dir, attempt(1))))).not.toContain(TOKEN);

    // The hazard of a workspace sharing files with its attempt: a change to what stays reaches it.
    const before = await tree(join(rig.dir, attempt(1)));
    const published = await inodes(join(rig.dir, attempt(1)));
    for (const name of ['big.bin', 'sparse-token.bin']) {
      expect(published.has((await stat(join(workspace, name))).ino), name).toBe(false);
      await appendFile(join(workspace, name), 'edited\n');
    }
    expect(await tree(join(rig.dir, attempt(1)))).toEqual(before);
  });

  it('a workspace left with nothing is removed, and is not reported as kept', async (ctx) => {
    const rig = await makeRig(benchmarkFiles('b'));
    if (statSync(rig.dir).dev !== statSync(tmpdir()).dev) return ctx.skip();
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], {
      WRITE_TOKEN: '1',
      TOKEN_NAMES: '1',
    });
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const log = await runLog(rig, 1);
    expect(log.workspace).toEqual({ path: log.workspace.path, kept: false, left: 'nothing' });
    expect(existsSync(log.workspace.path)).toBe(false);
    // The CLI's home beside it is kept, as ever without --clean.
    expect(existsSync(`${log.workspace.path}.home`)).toBe(true);
    // ...and the summary says where.
    expect(r.stdout).toContain(`the agents' homes are kept in ${dirname(log.workspace.path)} (`);
    expect(await rig.read(`${attempt(1)}/secret.txt`)).toBe('leaked ***\n');
    expect(await rig.read(`${attempt(1)}/run-log.md`)).toContain(
      `| temp_workspace | files moved into the attempt from ${log.workspace.path}; nothing was left there |`,
    );
    expect(r.stdout).not.toContain('temp workspaces kept');
  });

  it('--clean: the workspace moves into the attempt, and what was not collected is removed', async (ctx) => {
    const rig = await makeRig({ ...benchmarkFiles('b'), 'bench.config.mjs': CAP });
    if (statSync(rig.dir).dev !== statSync(tmpdir()).dev) return ctx.skip();
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1', '--clean'], OVERSIZED);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const log = await runLog(rig, 1);
    await expectMoved(rig, 1);
    expect(log.workspace).toEqual({ path: log.workspace.path, kept: false, left: 'removed' });
    expect(existsSync(log.workspace.path)).toBe(false);
    expect(existsSync(`${log.workspace.path}.home`)).toBe(false);
    // Nothing of the run is left in the temp dir, nor reported there.
    expect(existsSync(dirname(log.workspace.path))).toBe(false);
    expect(r.stdout).not.toContain('temp workspaces kept');
    expect(r.stdout).not.toContain("the agents' homes are kept");
    expect(log.logLimitations).toEqual(
      expect.arrayContaining([expect.stringContaining('agent.sock (a socket')]),
    );
  });

  it('gives the attempt what a copy across filesystems gives, kept or --clean', async (ctx) => {
    const other = await tmpfs();
    if (!other) return ctx.skip();
    const rig = await makeRig(benchmarkFiles('b'));
    if (statSync(rig.dir).dev !== statSync(tmpdir()).dev) return ctx.skip();
    const elsewhere = { ...AWKWARD, TMPDIR: other };
    for (const [args, env] of [
      [[], AWKWARD],
      [['--clean'], AWKWARD],
      [[], elsewhere],
      [['--clean'], elsewhere],
    ] as const) {
      const r = await rig.cli(['run', '--harness', 't', '--more', '1', ...args], env);
      expect(r.code, r.stderr + r.stdout).toBe(0);
    }
    const trees = await Promise.all([1, 2, 3, 4].map((n) => tree(join(rig.dir, attempt(n)))));
    expect(Object.keys(trees[0]!)).toEqual(
      expect.arrayContaining(['dir-***/inner.txt', 'file-***.txt', 'link', 'agent-run.log.workspace-2']),
    );
    expect(JSON.stringify(trees[0])).not.toContain(TOKEN);
    for (const n of [2, 3, 4]) expect(trees[n - 1], `attempt ${n}`).toEqual(trees[0]);
    const logs = await Promise.all([1, 2, 3, 4].map((n) => runLog(rig, n)));
    for (const n of [2, 3, 4])
      expect(logs[n - 1].logLimitations, `attempt ${n}`).toEqual(logs[0].logLimitations);

    // Across filesystems the files are copied, then removed from the workspace (on the tmpfs),
    // which keeps only what was not collected, as on one filesystem.
    const [out] = await reported(rig, 3);
    const copied = await stat(join(rig.dir, attempt(3), 'out.txt'));
    expect(copied.ino === out && copied.dev === statSync(other).dev).toBe(false);
    expect(copied.nlink).toBe(1);
    const kept: string = logs[2].workspace.path;
    expect(kept.startsWith(other)).toBe(true);
    expect((await readdir(kept)).sort()).toEqual(['agent.fifo', 'agent.sock']);
    expect((await readdir(logs[0].workspace.path)).sort()).toEqual(['agent.fifo', 'agent.sock']);
    expect(logs[2].workspace.left).toBe('kept');
    expect(existsSync(logs[3].workspace.path)).toBe(false);
  });
});

describe('where workspaces go', () => {
  it('never inside the benchmark package: a TMPDIR there is refused before any harness runs', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    await rig.write({ 'benchmarks/b/tmp/.keep': '' });
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], {
      TMPDIR: join(rig.dir, 'benchmarks/b/tmp'),
    });
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain('must be outside every benchmark package');
    expect(r.stderr).toContain('is inside benchmarks/b/');
    expect(await rig.invocations()).toBe(0);
  });
});

/** A source tree under a new temp dir from `{path: content}`, and the destination beside it. */
async function sourceTree(
  files: Record<string, string>,
): Promise<{ root: string; src: string; dest: string }> {
  const root = await mkdtemp(join(tmpdir(), 'bp-transfer-'));
  onTestFinished(() => rm(root, { recursive: true, force: true }));
  const src = join(root, 'src');
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(src, path, '..'), { recursive: true });
    await writeFile(join(src, path), content);
  }
  return { root, src, dest: join(root, 'dest') };
}

async function transfer(src: string, dest: string) {
  const { entries, leftOut } = await walkTree(src);
  return transferEntries(
    entries.map((entry) => ({ entry, to: entry.path })),
    {
      from: src,
      to: dest,
      redactor: new Redactor([]),
      maxFileSize: 2 ** 30,
      stays: leftOut.map((l) => l.path),
    },
  );
}

describe('collect: what stays in the workspace', () => {
  it('is masked where it lies, names and contents, and an entry left there is no file of the attempt', async () => {
    const big = `${'x'.repeat(4096)} key=${TOKEN}\n`;
    const { src: workspace, dest: staging } = await sourceTree({
      [`dir-${TOKEN}/big.txt`]: big,
      [`dir-${TOKEN}/small.txt`]: 'small\n',
      'secret.txt': `leaked ${TOKEN}\n`,
    });
    const redactor = new Redactor([TOKEN]);
    const ctx = {
      signal: new AbortController().signal,
      key: taskKey(collect, { attemptKey: 'k' }),
      emit: () => {},
      redactor,
    };
    const collected = await collect.run(
      { attemptKey: 'k', run: { workspace }, staging, maxFileSize: 1024, transfer: 'move' },
      ctx,
    );
    expect(collected.kept).toBe(true);
    expect(collected.maskedNames).toEqual(['dir-***']);
    expect(collected.leftOut).toEqual([
      { path: 'dir-***/big.txt', why: expect.stringContaining('collect.maxFileSize') },
    ]);
    expect(await tree(staging)).toEqual({
      'dir-***': '(dir)',
      'dir-***/small.txt': 'small\n',
      'secret.txt': 'leaked ***\n',
    });
    // Renamed in place, its contents masked: no byte of the token is left in the workspace.
    expect(await tree(workspace)).toEqual({
      'dir-***': '(dir)',
      'dir-***/big.txt': big.replace(TOKEN, '*'.repeat(TOKEN.length)),
    });
  });
});

describe('transferEntries', () => {
  it('a file with another name (outside the tree, say) is copied, and only its name in the tree removed', async () => {
    const { root, src, dest } = await sourceTree({ 'd/own.txt': 'own\n', 'd/.keep': '' });
    await writeFile(join(root, 'outside.txt'), 'private\n');
    await link(join(root, 'outside.txt'), join(src, 'd/linked.txt'));
    const own = (await stat(join(src, 'd/own.txt'))).ino;
    const done = await transfer(src, dest);
    expect(done.copied).toBe(1);
    expect(await readFile(join(dest, 'd/linked.txt'), 'utf8')).toBe('private\n');
    const outside = await stat(join(root, 'outside.txt'));
    expect((await stat(join(dest, 'd/linked.txt'))).ino).not.toBe(outside.ino);
    expect(outside.nlink).toBe(1);
    expect(await readFile(join(root, 'outside.txt'), 'utf8')).toBe('private\n');
    expect((await stat(join(dest, 'd/own.txt'))).ino).toBe(own);
    // Nothing is left in the source, not even the directory the copy emptied.
    expect(await readdir(src)).toEqual([]);
    expect(done.remaining).toEqual(new Set());
  });

  it('a file holding the token is copied masked, and its original removed', async () => {
    const { src, dest } = await sourceTree({ 'a/secret.txt': `key ${TOKEN}\n`, 'a/plain.txt': 'plain\n' });
    const { entries } = await walkTree(src);
    const done = await transferEntries(
      entries.map((entry) => ({ entry, to: entry.path })),
      { from: src, to: dest, redactor: new Redactor([TOKEN]), maxFileSize: 2 ** 30, stays: [] },
    );
    expect(done.redacted).toEqual(['a/secret.txt']);
    expect(await readFile(join(dest, 'a/secret.txt'), 'utf8')).toBe('key ***\n');
    expect(await readFile(join(dest, 'a/plain.txt'), 'utf8')).toBe('plain\n');
    expect(await readdir(src)).toEqual([]);
  });

  it('a directory whole when it can be, and another filesystem mounted inside the tree copied', async (ctx) => {
    const { src, dest } = await sourceTree({
      'whole/a/b.txt': 'b\n',
      'mnt/.placeholder': '',
      'top.txt': 'top\n',
    });
    await rm(join(src, 'mnt/.placeholder'));
    if (!(await tmpfs(join(src, 'mnt')))) return ctx.skip();
    const [mounted] = await readdir(join(src, 'mnt'));
    await writeFile(join(src, 'mnt', mounted!, 'x.txt'), 'x\n');
    const before = (await stat(join(src, 'whole'))).ino;
    const done = await transfer(src, dest);
    expect((await stat(join(dest, 'whole'))).ino).toBe(before);
    expect(await readFile(join(dest, 'whole/a/b.txt'), 'utf8')).toBe('b\n');
    expect(await readFile(join(dest, 'mnt', mounted!, 'x.txt'), 'utf8')).toBe('x\n');
    expect(done.copied).toBe(1);
    expect(existsSync(join(src, 'whole'))).toBe(false);
    // The copy's original is removed; the mount point cannot be, and stays with its parent.
    expect(await readdir(join(src, 'mnt', mounted!))).toEqual([]);
    expect(done.remaining).toEqual(new Set(['mnt', `mnt/${mounted}`]));
  });

  it('a failure half-way puts back what was moved', async () => {
    const { src, dest } = await sourceTree({ 'a/1.txt': '1\n', 'b/2.txt': '2\n' });
    await mkdir(join(dest, 'b'), { recursive: true });
    await writeFile(join(dest, 'b/in-the-way.txt'), '');
    await expect(transfer(src, dest)).rejects.toThrow(/ENOTEMPTY|EEXIST/);
    expect(await readFile(join(src, 'a/1.txt'), 'utf8')).toBe('1\n');
    expect(await readFile(join(src, 'b/2.txt'), 'utf8')).toBe('2\n');
    expect(existsSync(join(dest, 'a'))).toBe(false);
  });

  it("a failure after a copy puts back what was moved, and the copy's original is still there", async () => {
    const { root, src, dest } = await sourceTree({ 'a/1.txt': '1\n', 'c/3.txt': '3\n', 'top.txt': 'top\n' });
    // Another name: c/3.txt is copied, beside the rename of top.txt, which a directory in its place fails.
    await link(join(src, 'c/3.txt'), join(root, 'other-name.txt'));
    await mkdir(join(dest, 'top.txt/in-the-way'), { recursive: true });
    await expect(transfer(src, dest)).rejects.toThrow(/EISDIR|ENOTEMPTY|EEXIST/);
    expect(await readFile(join(dest, 'c/3.txt'), 'utf8')).toBe('3\n');
    for (const [path, content] of Object.entries({ 'a/1.txt': '1\n', 'c/3.txt': '3\n', 'top.txt': 'top\n' }))
      expect(await readFile(join(src, path), 'utf8'), path).toBe(content);
    expect(existsSync(join(dest, 'a'))).toBe(false);
  });
});
