import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, symlink, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchmarkFiles, configFile, FIXTURE_HARNESS, makeRig, type Rig } from './helpers/rig.js';

const attemptDirs = async (rig: Rig) =>
  (await rig.ls('benchmarks/b/eval-attempts')).filter((n) => n.includes('-attempt-'));

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

  it('an unknown command is a usage error, even one named like a property every object has', async () => {
    const rig = await makeRig();
    for (const command of ['frobnicate', 'toString', 'constructor', '__proto__']) {
      const r = await rig.cli([command]);
      expect(r.code, command).toBe(2);
      expect(r.stderr).toContain(`unknown command "${command}"`);
    }
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

describe('model-ids', () => {
  it('a model-id of another model on disk is refused, naming both; nothing is shared or moved', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const first = await rig.cli(['run', '--harness', 't', '--model', 'Org/Model:Fast', '--attempts', '1']);
    expect(first.code, first.stderr).toBe(0);
    for (const extra of [[], ['--rerun', 'stale']]) {
      const r = await rig.cli([
        'run',
        '--harness',
        't',
        '--model',
        'org-model-fast',
        '--attempts',
        '1',
        ...extra,
      ]);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.stderr).toContain('model org-model-fast');
      expect(r.stderr).toContain('model Org/Model:Fast');
      expect(r.stderr).toContain('"t-org-model-fast"');
      expect(r.stderr).toContain('benchmarks/b/eval-attempts/t-org-model-fast-attempt-1/run-log.json');
    }
    const plan = await rig.cli(['plan', '--harness', 't', '--model', 'org-model-fast']);
    expect(plan.code).toBe(2);
    expect(await rig.invocations()).toBe(1);
    expect(await attemptDirs(rig)).toEqual(['t-org-model-fast-attempt-1']);
    expect(await rig.ls('benchmarks/b/eval-attempts/.replaced')).toEqual([]);
    // The model that owns the id still runs.
    const same = await rig.cli(['run', '--harness', 't', '--model', 'Org/Model:Fast', '--attempts', '2']);
    expect(same.code, same.stderr).toBe(0);
  });

  it('two lines of one invocation with one model-id are refused, naming both', async () => {
    const rig = await makeRig({
      'bench.config.mjs': configFile().replace(
        'harnesses: {',
        `harnesses: {\n    't-x': { command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(FIXTURE_HARNESS)}] },`,
      ),
      ...benchmarkFiles('b', {
        allowed_harnesses: '[t, t-x]',
        defaults: '\n  t:\n    model: x-m\n  t-x:\n    model: m',
      }),
    });
    const r = await rig.cli(['plan']);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stderr).toContain(
      'harness t, model x-m and harness t-x, model m both map to model-id "t-x-m"; different models never share one attempt set',
    );
  });

  it('a model whose attempt directory names would pass 255 bytes is refused at plan time, naming it', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const model = `vendor/${'m'.repeat(300)}`;
    for (const command of ['plan', 'run']) {
      const r = await rig.cli([command, '--harness', 't', '--model', model, '--attempts', '1']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('--model: model-id "t-vendor-mmm');
      expect(r.stderr).toContain(`harness t, model ${model}`);
      expect(r.stderr).toContain('255-byte limit');
      expect(r.stderr).not.toContain('ENAMETOOLONG');
    }
    expect(await rig.invocations()).toBe(0);
  });
});

describe('plan and running markers', () => {
  it("a dead invocation's marker is no attempt running: plan says it is missing and will be cleaned up", async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))']);
    const pid = Number(dead.stdout.toString());
    const marker = {
      pid,
      host: hostname(),
      procStart: '1',
      runId: 'r',
      attempt: 't-default-attempt-1',
      startedAt: 'x',
    };
    await rig.write({ 'benchmarks/b/.pipeline/running/t-default-attempt-1.json': JSON.stringify(marker) });
    const r = await rig.cli(['plan', '--harness', 't']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('running now');
    expect(r.stdout).toMatch(
      new RegExp(
        `t-default-attempt-1\\s+missing\\s+\\w+\\s+not run yet \\(a dead invocation's marker, pid ${pid}; the next run cleans it up\\)`,
      ),
    );
  });
});

describe('attempt directories without a valid run-log', () => {
  it('are not complete: plan and status say so, run moves the ones it needs aside and makes them', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    expect((await rig.cli(['run', '--harness', 't', '--attempts', '1'])).code).toBe(0);
    const at = (n: number) => join(rig.dir, `benchmarks/b/eval-attempts/t-default-attempt-${n}`);
    // 2: planted by hand, no run-log; 3: another attempt's run-log; 5: past what is asked for.
    await mkdir(at(2));
    await writeFile(join(at(2), 'notes.txt'), 'planted\n');
    await cp(at(1), at(3), { recursive: true });
    await mkdir(at(5));
    const plan = await rig.cli(['plan', '--harness', 't', '--attempts', '3']);
    expect(plan.code, plan.stderr).toBe(0);
    expect(plan.stdout).toMatch(/t-default-attempt-1\s+done/);
    for (const n of [2, 3])
      expect(plan.stdout).toMatch(
        new RegExp(
          `t-default-attempt-${n}\\s+missing\\s+\\w+\\s+invalid: no valid run-log\\.json.*will be replaced`,
        ),
      );
    expect(plan.stdout).toMatch(/t-default-attempt-5\s+missing\s+\w+\s+invalid: no valid run-log\.json/);
    expect(plan.stdout).not.toMatch(/t-default-attempt-5.*will be replaced/);
    expect(plan.stdout).toContain('attempts: 1 done, 3 missing, 0 stale, 0 failed; run would execute 2');
    const status = await rig.cli(['status']);
    expect(status.stdout).toContain('t-default: 1 complete (1 succeeded, 0 failed, 0 timed out); 3 invalid');
    expect(status.stdout).toContain('attempt 2 invalid: no valid run-log.json');

    const run = await rig.cli(['run', '--harness', 't', '--attempts', '3']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stdout).toContain('2 completed (2 succeeded, 0 failed, 0 timed out), 1 already done');
    expect(await rig.invocations()).toBe(3);
    const replaced = await rig.ls('benchmarks/b/eval-attempts/.replaced');
    expect(replaced.map((n) => n.replace(/\.[^.]+$/, ''))).toEqual([
      't-default-attempt-2',
      't-default-attempt-3',
    ]);
    expect(await rig.read(`benchmarks/b/eval-attempts/.replaced/${replaced[0]}/notes.txt`)).toBe('planted\n');
    const again = await rig.cli(['plan', '--harness', 't', '--attempts', '3']);
    expect(again.stdout).toContain('attempts: 3 done, 1 missing, 0 stale, 0 failed; run would execute 0');
    expect(existsSync(at(5))).toBe(true);
  });
});

describe('the image lock', () => {
  it('an unreadable runner.lock.yaml: the advice to run with --update-image works', async () => {
    const rig = await makeRig({
      ...benchmarkFiles('b', { image: 'example/b:1' }),
      'benchmarks/b/runner.lock.yaml': 'ref: example/b:1\ndigest: not-a-digest\n',
    });
    const plan = await rig.cli(['plan', '--harness', 't']);
    expect(plan.code).toBe(2);
    expect(plan.stderr).toContain('delete it, or run with --update-image, to re-pin');
    // With --update-image the run goes past the lock to resolving the image (here: no engine).
    const env = { DOCKER_HOST: `unix://${join(rig.dir, 'no-engine.sock')}` };
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1', '--update-image'], env);
    expect(r.stderr).not.toContain('runner.lock.yaml');
    expect(r.stderr).toContain('is unreachable');
    expect(r.code).toBe(1);
  });
});

/** A directory on another filesystem than the rig's, or undefined when there is none to use. */
function otherFilesystem(): string | undefined {
  for (const root of ['/dev/shm']) {
    if (existsSync(root) && statSync(root).dev !== statSync(tmpdir()).dev)
      return mkdtempSync(join(root, 'bp-'));
  }
  return undefined;
}

describe('eval-attempts/ is checked before any harness runs', () => {
  it('on another filesystem than .pipeline/staging: refused naming it, no harness invoked', async (ctx) => {
    const other = otherFilesystem();
    if (!other) return ctx.skip();
    try {
      const rig = await makeRig(benchmarkFiles('b'));
      await symlink(other, join(rig.dir, 'benchmarks/b/eval-attempts'));
      const r = await rig.cli(['run', '--harness', 't', '--attempts', '1']);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toContain(
        'benchmarks/b/eval-attempts/ is not on the same filesystem as benchmarks/b/.pipeline/staging/',
      );
      expect(await rig.invocations()).toBe(0);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('read-only: refused naming it, no harness invoked', async (ctx) => {
    const rig = await makeRig(benchmarkFiles('b'));
    const dir = join(rig.dir, 'benchmarks/b/eval-attempts');
    await mkdir(dir);
    // chmod binds everyone but root; root needs a read-only mount.
    const root = process.getuid?.() === 0;
    if (root) {
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=64k', 'tmpfs', dir], { stdio: 'ignore' });
      } catch {
        return ctx.skip();
      }
    } else await chmod(dir, 0o555);
    try {
      const r = await rig.cli(['run', '--harness', 't', '--attempts', '1']);
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(r.stderr).toMatch(/benchmarks\/b\/eval-attempts\/ is not writable \((EROFS|EACCES)\)/);
      expect(await rig.invocations()).toBe(0);
    } finally {
      if (root) execFileSync('umount', [dir]);
      else await chmod(dir, 0o755);
    }
  });
});
