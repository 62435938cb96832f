import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { benchmarkFiles, isRunning, makeRig, type Rig, waitFor } from './helpers/rig.js';

/** A real tmpfs of `size`, unmounted when the test ends. */
async function tmpfs(size: string): Promise<string> {
  const mount = await mkdtemp(join(tmpdir(), 'bp-full-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', mount]);
  onTestFinished(async () => {
    execFileSync('umount', ['-l', mount]);
    await rm(mount, { recursive: true, force: true });
  });
  return mount;
}

const attemptDirs = async (rig: Rig) =>
  (await rig.ls('benchmarks/b/eval-attempts')).filter((n) => n.includes('-attempt-'));

/** Every visible attempt directory is whole: it has the logs that are written last. */
async function expectOnlyWholeAttempts(rig: Rig): Promise<void> {
  for (const name of await attemptDirs(rig)) {
    const files = await rig.ls(`benchmarks/b/eval-attempts/${name}`);
    expect(files, name).toEqual(
      expect.arrayContaining(['agent-run.log', 'out.txt', 'run-log.json', 'run-log.md']),
    );
    expect(
      JSON.parse(await rig.read(`benchmarks/b/eval-attempts/${name}/run-log.json`)).attempt,
    ).toBeGreaterThan(0);
  }
}

async function harnessPids(rig: Rig): Promise<number[]> {
  const text = await readFile(rig.countFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => Number(l.split(' ')[0]));
}

describe('crash safety', () => {
  it('kill -9 mid-batch, then a rerun completes the set: no duplicate, no partial attempt', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const env = { HARNESS_SLEEP_MS: '1500' };
    const { child, done } = rig.spawnCli(
      ['run', '--harness', 't', '--attempts', '6', '--concurrency', '2'],
      env,
    );
    // Kill it once one attempt is published and the harness of another is running: its marker
    // (not merely a marker being written, nor one about to be released) is what the rerun reaps.
    const running = async () => {
      for (const name of await rig.ls('benchmarks/b/.pipeline/running')) {
        if (!name.endsWith('.json')) continue;
        const marker = JSON.parse(await rig.read(`benchmarks/b/.pipeline/running/${name}`).catch(() => '{}'));
        if (marker.childPid && (await isRunning(marker.childPid))) return true;
      }
      return false;
    };
    await waitFor(
      async () => (await attemptDirs(rig)).length >= 1 && (await running()),
      30_000,
      'a published attempt and a running one',
    );
    child.kill('SIGKILL');
    await done;
    const published = await attemptDirs(rig);
    expect(published.length).toBeGreaterThanOrEqual(1);
    expect(published.length).toBeLessThan(6);
    await expectOnlyWholeAttempts(rig);
    const orphans = await harnessPids(rig);

    const rerun = await rig.cli(['run', '--harness', 't', '--attempts', '6', '--concurrency', '2']);
    expect(rerun.code, rerun.stderr + rerun.stdout).toBe(0);
    expect(rerun.stdout).toContain('removed what dead invocation');
    expect(await attemptDirs(rig)).toEqual([1, 2, 3, 4, 5, 6].map((n) => `t-default-attempt-${n}`));
    await expectOnlyWholeAttempts(rig);
    // Nothing is left of the dead invocation: no markers, no staging, no harness still running.
    expect(await rig.ls('benchmarks/b/.pipeline/running')).toEqual([]);
    expect(await rig.ls('benchmarks/b/.pipeline/staging')).toEqual([]);
    for (const pid of orphans) expect(await isRunning(pid)).toBe(false);
    // Each attempt published once: the rerun ran only what the dead one did not publish.
    const runIds = new Set<string>();
    for (const name of await attemptDirs(rig)) {
      runIds.add(JSON.parse(await rig.read(`benchmarks/b/eval-attempts/${name}/run-log.json`)).runId);
    }
    expect(runIds.size).toBe(2);
  });

  it("a new run removes a dead process's temp files and keeps a live one's", async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const deadPid = Number(execFileSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).trim());
    await rig.write({
      [`benchmarks/b/.pipeline/running/.tmp-${deadPid}-0a1b2c3d`]: '{"pid":',
      [`benchmarks/b/.pipeline/seeds/.tmp-${deadPid}-0a1b2c3d/tree/prompt.md`]: 'half a template',
      [`benchmarks/b/.pipeline/.tmp-${deadPid}-0a1b2c3d`]: '{',
      [`benchmarks/b/.pipeline/running/.tmp-${process.pid}-0a1b2c3d`]: 'a live process is writing this',
    });
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1']);
    expect(r.code, r.stderr).toBe(0);
    expect(await rig.ls('benchmarks/b/.pipeline/running')).toEqual([`.tmp-${process.pid}-0a1b2c3d`]);
    expect((await rig.ls('benchmarks/b/.pipeline/seeds')).filter((n) => n.startsWith('.tmp'))).toEqual([]);
    expect((await rig.ls('benchmarks/b/.pipeline')).filter((n) => n.startsWith('.tmp'))).toEqual([]);
  });

  it('two concurrent invocations on one benchmark do not collide', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const env = { HARNESS_SLEEP_MS: '600' };
    const args = ['run', '--harness', 't', '--attempts', '4', '--concurrency', '2'];
    const [a, b] = await Promise.all([rig.spawnCli(args, env).done, rig.spawnCli(args, env).done]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(await attemptDirs(rig)).toHaveLength(4);
    // Each attempt ran exactly once, whichever invocation ran it.
    expect(await rig.invocations()).toBe(4);
    await expectOnlyWholeAttempts(rig);

    // --more from two invocations at once claims distinct indices.
    const more = ['run', '--harness', 't', '--more', '2', '--concurrency', '2'];
    const [c, d] = await Promise.all([rig.spawnCli(more, env).done, rig.spawnCli(more, env).done]);
    expect(c.code, c.stderr).toBe(0);
    expect(d.code, d.stderr).toBe(0);
    expect(await attemptDirs(rig)).toEqual([1, 2, 3, 4, 5, 6, 7, 8].map((n) => `t-default-attempt-${n}`));
  });

  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s stops running harnesses and leaves no partial state',
    async (signal) => {
      const rig = await makeRig(benchmarkFiles('b'));
      const { child, done } = rig.spawnCli(
        ['run', '--harness', 't', '--attempts', '3', '--concurrency', '2'],
        {
          HARNESS_SLEEP_MS: '20000',
        },
      );
      await waitFor(async () => (await harnessPids(rig)).length >= 2, 20_000, 'two harnesses running');
      child.kill(signal);
      const result = await done;
      expect(result.code).toBe(1);
      expect(result.stdout).toContain('(cancelled)');
      expect(await attemptDirs(rig)).toEqual([]);
      expect(await rig.ls('benchmarks/b/.pipeline/running')).toEqual([]);
      expect(await rig.ls('benchmarks/b/.pipeline/staging')).toEqual([]);
      for (const pid of await harnessPids(rig)) expect(await isRunning(pid)).toBe(false);
      // The cancelled attempts are missing, so the next run does them.
      const plan = await rig.cli(['plan', '--harness', 't', '--attempts', '3']);
      expect(plan.stdout).toContain('3 missing');
    },
  );

  it('a full disk fails the attempt cleanly: reported, nothing half-written, retried later', async () => {
    // A real full disk: the project lives on a 2 MB tmpfs; the harness writes 4 MB into its workspace.
    const rig = await makeRig(benchmarkFiles('b'), await tmpfs('2m'));
    const full = await rig.cli(['run', '--harness', 't', '--attempts', '2'], { BIG_FILE_MB: '4' });
    expect(full.code).toBe(1);
    expect(full.stdout).toContain('ENOSPC: no space left on device');
    expect(full.stdout).toContain(
      '0 completed (0 succeeded, 0 failed, 0 timed out), 0 already done, 2 not completed',
    );
    expect(await attemptDirs(rig)).toEqual([]);
    expect(await rig.ls('benchmarks/b/.pipeline/staging')).toEqual([]);
    expect(await rig.ls('benchmarks/b/.pipeline/running')).toEqual([]);

    // With room again, the same attempts complete.
    const retry = await rig.cli(['run', '--harness', 't', '--attempts', '2']);
    expect(retry.code, retry.stdout).toBe(0);
    expect(await attemptDirs(rig)).toEqual(['t-default-attempt-1', 't-default-attempt-2']);
    await expectOnlyWholeAttempts(rig);
  });

  // The harness prints 30 MB onto a 20 MB filesystem: agent-run.log, written as it comes, hits
  // ENOSPC. The harness must be stopped, not left blocked on a pipe no one reads any more.
  it.each([
    ['without a timeout', [], false],
    ['with --timeout', ['--timeout', '5s'], false],
    ['with TMPDIR on the full filesystem too', [], true],
  ] as const)('a full disk under agent-run.log %s ends the attempt as an io error', async (_, extra, tmp) => {
    const rig = await makeRig(benchmarkFiles('b'), await tmpfs('20m'));
    const env = tmp ? { TMPDIR: join(rig.dir, 'tmp') } : {};
    await rig.write({ 'tmp/.keep': '' });
    const started = Date.now();
    const { child, done } = rig.spawnCli(['run', '--harness', 't', '--attempts', '1', ...extra], {
      ...env,
      STDOUT_MB: '30',
    });
    // A hang is the defect: give it far less than any timeout would.
    const guard = setTimeout(() => child.kill('SIGKILL'), 40_000);
    const full = await done.finally(() => clearTimeout(guard));
    expect(full.signal, 'the run hung').toBeNull();
    expect(full.code, full.stdout + full.stderr).toBe(1);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(full.stdout).toMatch(
      /error {2}b\/t-default-attempt-1 {2}file system error: .*agent-run\.log.*ENOSPC: no space left on device/,
    );
    expect(full.stdout).toContain(
      '0 completed (0 succeeded, 0 failed, 0 timed out), 0 already done, 1 not completed',
    );
    // The harness was stopped.
    for (const pid of await harnessPids(rig)) expect(await isRunning(pid)).toBe(false);
    expect(await attemptDirs(rig)).toEqual([]);
    expect(await rig.ls('benchmarks/b/.pipeline/staging')).toEqual([]);
    expect(await rig.ls('benchmarks/b/.pipeline/running')).toEqual([]);

    const retry = await rig.cli(['run', '--harness', 't', '--attempts', '1'], env);
    expect(retry.code, retry.stdout + retry.stderr).toBe(0);
    expect(await attemptDirs(rig)).toEqual(['t-default-attempt-1']);
    await expectOnlyWholeAttempts(rig);
    expect(await rig.ls('benchmarks/b/.pipeline/staging')).toEqual([]);
    expect(await rig.ls('benchmarks/b/.pipeline/running')).toEqual([]);
  });

  it('an attempt whose cleanup cannot write the journal is still reported as not completed', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], {
      BREAK_STATE: join(rig.dir, 'benchmarks/b'),
    });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/error {2}b\/t-default-attempt-1 {2}file system error: .*staging/);
    expect(r.stdout).toMatch(/warn .*journal/);
    expect(r.stdout).toContain(
      '0 completed (0 succeeded, 0 failed, 0 timed out), 0 already done, 1 not completed',
    );
    expect(await rig.ls('benchmarks/b/.pipeline/running')).toEqual([]);
  });

  it('an attempt index that cannot be saved is a warning: the completed attempts are reported', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], {
      BREAK_INDEX: join(rig.dir, 'benchmarks/b'),
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/warn .*attempt-index\.json/);
    expect(r.stdout).toContain('1 completed (1 succeeded, 0 failed, 0 timed out)');
  });
});
