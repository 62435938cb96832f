import { existsSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { benchmarkFiles, configFile, isRunning, makeRig, sleep, TOKEN, waitFor } from './helpers/rig.js';

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

  it('a timeout longer than a timer holds is refused before anything runs', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    for (const bad of ['600h', '0', '0s', '1e400', `${'9'.repeat(400)}s`, '-5s']) {
      const r = await rig.cli(['run', '--harness', 't', '--attempts', '1', `--timeout=${bad}`]);
      expect(r.code, `${bad}: ${r.stdout}${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`--timeout ${bad}:`);
    }
    expect(
      (await rig.cli(['run', '--harness', 't', '--attempts', '1', '--timeout', '600h'])).stderr,
    ).toContain('at most 596h 31m');
    expect(await rig.invocations()).toBe(0);

    await rig.write({ 'bench.config.mjs': configFile("timeout: '600h',") });
    const config = await rig.cli(['run', '--harness', 't', '--attempts', '1']);
    expect(config.code, config.stderr).toBe(2);
    expect(config.stderr).toMatch(/bench\.config\.mjs: timeout: must be at most 596h 31m/);
    await rig.write({ 'bench.config.mjs': configFile('timeout: 3e6,') });
    const seconds = await rig.cli(['run', '--harness', 't', '--attempts', '1']);
    expect(seconds.code, seconds.stderr).toBe(2);
    expect(seconds.stderr).toMatch(/bench\.config\.mjs: timeout: must be at most/);
    expect(await rig.invocations()).toBe(0);

    // The longest that fits works: the attempt is not timed out at once.
    await rig.write({ 'bench.config.mjs': configFile() });
    const longest = await rig.cli(['run', '--harness', 't', '--attempts', '1', '--timeout', '596h']);
    expect(longest.code, longest.stdout + longest.stderr).toBe(0);
    expect(longest.stderr).not.toContain('TimeoutOverflowWarning');

    // rerun takes the recorded timeout: one a timer cannot hold is refused there too.
    const record = 'benchmarks/b/eval-attempts/t-default-attempt-1/run-log.json';
    const log = JSON.parse(await rig.read(record));
    await rig.write({ [record]: JSON.stringify({ ...log, timeoutMs: 600 * 3_600_000 }) });
    const rerun = await rig.cli(['rerun', 'benchmarks/b/eval-attempts/t-default-attempt-1']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(2);
    expect(rerun.stderr).toContain('run-log.json: timeoutMs 2160000000: must be at most 596h 31m');
    expect(await rig.invocations()).toBe(1);
  });
});

describe('no process of an attempt outlives it', () => {
  const daemonOf = async (workspace: string) =>
    Number((await readFile(join(workspace, 'daemon.pid'), 'utf8')).trim());
  const sizeOf = async (path: string) => (await stat(path)).size;

  it('a setsid daemon the harness left is killed before the workspace is collected, and recorded', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], { HARNESS_DAEMON: '1' });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const log = JSON.parse(await rig.read('benchmarks/b/eval-attempts/t-default-attempt-1/run-log.json'));
    const attempt = join(rig.dir, 'benchmarks/b/eval-attempts/t-default-attempt-1');
    const pid = await daemonOf(attempt);
    onTestFinished(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    });
    expect(await isRunning(pid)).toBe(false);
    const size = await sizeOf(join(attempt, 'daemon.txt'));
    await sleep(500);
    expect(await sizeOf(join(attempt, 'daemon.txt'))).toBe(size);
    expect(log.logLimitations.join('\n')).toMatch(
      new RegExp(`killed \\d+ process(es)? that outlived the harness: .*${pid} \\(sh\\)`),
    );
    // Nothing wrote into the workspace after the move: all of it went, and it is gone.
    expect(log.workspace.left).toBe('nothing');
    expect(existsSync(log.workspace.path)).toBe(false);
  });

  it("the next run kills a dead invocation's daemon with its marker", async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const { child, done } = rig.spawnCli(['run', '--harness', 't', '--attempts', '1'], {
      HARNESS_DAEMON: '1',
      HARNESS_SLEEP_MS: '30000',
    });
    const marker = 'benchmarks/b/.pipeline/running/t-default-attempt-1.json';
    let workspace = '';
    await waitFor(
      async () => {
        workspace = rig.exists(marker) ? (JSON.parse(await rig.read(marker)).workspace ?? '') : '';
        return workspace !== '' && existsSync(join(workspace, 'daemon.pid'));
      },
      20_000,
      'the daemon',
    );
    const pid = await daemonOf(workspace);
    onTestFinished(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    });
    child.kill('SIGKILL');
    await done;
    expect(await isRunning(pid)).toBe(true);
    const rerun = await rig.cli(['run', '--harness', 't', '--attempts', '1']);
    expect(rerun.code, rerun.stdout + rerun.stderr).toBe(0);
    expect(await isRunning(pid)).toBe(false);
  });
});
