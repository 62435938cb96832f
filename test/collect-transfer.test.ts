import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { link, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { walkTree } from '../pipeline/copy-tree.js';
import { Redactor } from '../pipeline/redact.js';
import { type Transfer, transferEntries } from '../pipeline/transfer-tree.js';
import { benchmarkFiles, makeRig, type Rig, TOKEN } from './helpers/rig.js';

const attempt = (n: number) => `benchmarks/b/eval-attempts/t-default-attempt-${n}`;
const runLog = async (rig: Rig, n: number) => JSON.parse(await rig.read(`${attempt(n)}/run-log.json`));

/** The inode numbers the harness saw (INODE_REPORT): of out.txt, and of prompt.md as it was given. */
const reported = async (rig: Rig, n: number) =>
  (await rig.read(`${attempt(n)}/inodes.txt`)).trim().split('\n').map(Number) as [number, number];

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

describe('collect on the staging filesystem: links or renames, no copy', () => {
  it('kept (the default): the attempt and the kept workspace share each file but what was masked', async (ctx) => {
    const rig = await makeRig(benchmarkFiles('b'));
    if (statSync(rig.dir).dev !== statSync(tmpdir()).dev) return ctx.skip();
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], AWKWARD);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const log = await runLog(rig, 1);
    const workspace: string = log.workspace.path;
    expect(log.workspace.kept).toBe(true);
    expect(r.stdout).toContain(`temp workspaces kept`);
    const [out, prompt] = await reported(rig, 1);
    for (const [name, ino] of [
      ['out.txt', out],
      ['prompt.md', prompt],
    ] as const) {
      const [published, kept] = [
        await stat(join(rig.dir, attempt(1), name)),
        await stat(join(workspace, name)),
      ];
      expect([published.ino, kept.ino, published.nlink], name).toEqual([ino, ino, 2]);
    }
    // A file that held the token: the attempt has its masked copy, the workspace its own, masked in place.
    expect(await rig.read(`${attempt(1)}/secret.txt`)).toBe('leaked ***\n');
    expect(await readFile(join(workspace, 'secret.txt'), 'utf8')).toBe(
      `leaked ${'*'.repeat(TOKEN.length)}\n`,
    );
    expect((await stat(join(workspace, 'secret.txt'))).nlink).toBe(1);
    // The kept workspace is whole: what was left out is there.
    expect((await stat(join(workspace, 'agent.fifo'))).isFIFO()).toBe(true);
    expect(await readFile(join(workspace, 'dir-***/inner.txt'), 'utf8')).toBe('inner\n');
  });

  it('--clean: the workspace moves into the attempt, and what was left out goes with the workspace', async (ctx) => {
    const rig = await makeRig(benchmarkFiles('b'));
    if (statSync(rig.dir).dev !== statSync(tmpdir()).dev) return ctx.skip();
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1', '--clean'], AWKWARD);
    expect(r.code, r.stderr + r.stdout).toBe(0);
    const log = await runLog(rig, 1);
    const [out, prompt] = await reported(rig, 1);
    for (const [name, ino] of [
      ['out.txt', out],
      ['prompt.md', prompt],
    ] as const) {
      const published = await stat(join(rig.dir, attempt(1), name));
      expect([published.ino, published.nlink], name).toEqual([ino, 1]);
    }
    expect(log.workspace.kept).toBe(false);
    expect(existsSync(log.workspace.path)).toBe(false);
    expect(existsSync(`${log.workspace.path}.home`)).toBe(false);
    expect(r.stdout).not.toContain('temp workspaces kept');
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

    // Across filesystems the attempt is a copy: the kept workspace (on the tmpfs) shares nothing with it.
    const [out] = await reported(rig, 3);
    const copied = await stat(join(rig.dir, attempt(3), 'out.txt'));
    expect(copied.ino === out && copied.dev === statSync(other).dev).toBe(false);
    expect(copied.nlink).toBe(1);
    const kept: string = logs[2].workspace.path;
    expect(kept.startsWith(other)).toBe(true);
    expect(await readFile(join(kept, 'out.txt'), 'utf8')).toBe(await rig.read(`${attempt(3)}/out.txt`));
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

async function transfer(src: string, dest: string, how: Transfer) {
  const { entries, leftOut } = await walkTree(src);
  return transferEntries(
    entries.map((entry) => ({ entry, to: entry.path })),
    {
      from: src,
      to: dest,
      how,
      redactor: new Redactor([]),
      maxFileSize: 2 ** 30,
      stays: leftOut.map((l) => l.path),
    },
  );
}

describe('transferEntries', () => {
  it.each(['link', 'move'] as const)(
    '%s: a file with another name (outside the tree, say) is copied',
    async (how) => {
      const { root, src, dest } = await sourceTree({ 'd/own.txt': 'own\n', 'd/.keep': '' });
      await writeFile(join(root, 'outside.txt'), 'private\n');
      await link(join(root, 'outside.txt'), join(src, 'd/linked.txt'));
      const own = (await stat(join(src, 'd/own.txt'))).ino;
      const done = await transfer(src, dest, how);
      expect(done.copied).toBe(1);
      expect(await readFile(join(dest, 'd/linked.txt'), 'utf8')).toBe('private\n');
      expect((await stat(join(dest, 'd/linked.txt'))).ino).not.toBe(
        (await stat(join(root, 'outside.txt'))).ino,
      );
      expect((await stat(join(dest, 'd/own.txt'))).ino).toBe(own);
      // The copied file stays where it was, the rest only when linked.
      expect(existsSync(join(src, 'd/linked.txt'))).toBe(true);
      expect(existsSync(join(src, 'd/own.txt'))).toBe(how === 'link');
    },
  );

  it('move: a directory whole when it can be, and another filesystem mounted inside the tree copied', async (ctx) => {
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
    const done = await transfer(src, dest, 'move');
    expect((await stat(join(dest, 'whole'))).ino).toBe(before);
    expect(await readFile(join(dest, 'whole/a/b.txt'), 'utf8')).toBe('b\n');
    expect(await readFile(join(dest, 'mnt', mounted!, 'x.txt'), 'utf8')).toBe('x\n');
    expect(done.copied).toBe(1);
    expect(existsSync(join(src, 'whole'))).toBe(false);
    expect(existsSync(join(src, 'mnt', mounted!, 'x.txt'))).toBe(true);
  });

  it('move: a failure half-way puts back what was moved', async () => {
    const { src, dest } = await sourceTree({ 'a/1.txt': '1\n', 'b/2.txt': '2\n' });
    await mkdir(join(dest, 'b'), { recursive: true });
    await writeFile(join(dest, 'b/in-the-way.txt'), '');
    await expect(transfer(src, dest, 'move')).rejects.toThrow(/ENOTEMPTY|EEXIST/);
    expect(await readFile(join(src, 'a/1.txt'), 'utf8')).toBe('1\n');
    expect(await readFile(join(src, 'b/2.txt'), 'utf8')).toBe('2\n');
    expect(existsSync(join(dest, 'a'))).toBe(false);
  });
});
