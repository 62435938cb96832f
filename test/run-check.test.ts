/**
 * runCheck: one score check's `sh -c`, on the host (lite) and in a container of a real engine
 * (docker; test/docker/engine.sh sets one up, with the base image bench-pipeline-test/busybox:1).
 * Without an engine the docker suite is skipped, except under CI=true, where it must run.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { connectEngine, type Engine, engineAddress } from '../pipeline/docker.js';
import { InfraError } from '../pipeline/errors.js';
import { newAttemptTag } from '../pipeline/processes.js';
import { Redactor } from '../pipeline/redact.js';
import { CancelledError } from '../pipeline/task.js';
import { MERGED_SH } from '../tasks/check-process.js';
import { type CheckSpec, LAST_LINE_BYTES, runCheck } from '../tasks/run-check.js';
import { BASE, docker, engineUp } from './helpers/docker.js';
import { isRunning, TOKEN, waitFor } from './helpers/rig.js';

/** A key-like variable of the invoking environment, which no check may see. */
const HOST_KEY = 'ANTHROPIC_API_KEY';
const HOST_KEY_VALUE = 'sk-ant-fake-4c7d9e2b1a6f08e35d';

let dir = '';

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'bp-check-'));
  mkdirSync(join(dir, 'workspace'));
});

afterEach(async () => {
  if (!process.env.KEEP_TEST_DIRS) await rm(dir, { recursive: true, force: true });
});

const workspace = () => join(dir, 'workspace');
const log = () => readFile(join(dir, 'check.log'), 'utf8');

/** Runs `run` in the test's workspace: lite unless `over` gives a container. */
function check(run: string, over: Partial<CheckSpec> = {}) {
  return runCheck({
    run,
    workspace: workspace(),
    timeoutMs: 30_000,
    network: 'none',
    logPath: join(dir, 'check.log'),
    redactor: new Redactor([TOKEN]),
    signal: new AbortController().signal,
    tag: newAttemptTag(),
    ...over,
  });
}

/** The pid a check wrote into `file` of its workspace. */
const pidIn = async (file: string) => Number((await readFile(join(workspace(), file), 'utf8')).trim());

describe('runCheck, lite mode', () => {
  it('exit 0 is a result, with its output in the log and its last line', async () => {
    const ran = await check('echo hello; echo to stderr >&2; echo last');
    expect(ran).toMatchObject({ exitCode: 0, signal: null, timedOut: false, lastLine: 'last' });
    expect(ran.durationMs).toBeGreaterThanOrEqual(0);
    expect(await log()).toBe('hello\nto stderr\nlast\n');
  });

  it('stdout and stderr are one stream, in the order the check wrote them', async () => {
    const ran = await check('for i in 1 2 3 4 5; do echo out$i; echo err$i >&2; done');
    expect(ran.lastLine).toBe('err5');
    expect(await log()).toBe([1, 2, 3, 4, 5].map((i) => `out${i}\nerr${i}\n`).join(''));
  });

  it('a non-zero exit is a result, not an error', async () => {
    const ran = await check('echo failing >&2; exit 3');
    expect(ran).toMatchObject({ exitCode: 3, signal: null, timedOut: false, lastLine: 'failing' });
  });

  it('lastLine is the last non-empty line, of stdout and stderr as they came, at most 1 KiB', async () => {
    const ran = await check("echo 'tests: 3'; echo 'SCORE 2/3' >&2; printf '\\n   \\n\\r\\n'");
    expect(ran.lastLine).toBe('SCORE 2/3');
    const long = await check(`head -c 5000 /dev/zero | tr '\\0' x; echo ' SCORE 1/1'`, {
      logPath: join(dir, 'long.log'),
    });
    expect(Buffer.byteLength(long.lastLine)).toBeLessThanOrEqual(LAST_LINE_BYTES);
    expect(long.lastLine).toMatch(/^x+ SCORE 1\/1$/);
    // A progress bar redrawn with \r: its last state.
    const bar = await check("printf '10%%\\r50%%\\rSCORE 3/3'", { logPath: join(dir, 'bar.log') });
    expect(bar.lastLine).toBe('SCORE 3/3');
  });

  it('a timeout kills the whole process group and says so', async () => {
    const ran = await check('sleep 100 & echo $! > bg.pid; wait', { timeoutMs: 500 });
    expect(ran.timedOut).toBe(true);
    expect(ran.exitCode).toBeNull();
    expect(ran.signal).toBe('SIGTERM');
    expect(ran.durationMs).toBeLessThan(5_000);
    expect(await isRunning(await pidIn('bg.pid'))).toBe(false);
  });

  it('a check that ignores SIGTERM is killed after the grace period', async () => {
    const ran = await check("trap '' TERM; sleep 100 & echo $! > bg.pid; wait", { timeoutMs: 300 });
    expect(ran).toMatchObject({ exitCode: null, signal: 'SIGKILL', timedOut: true });
    expect(ran.durationMs).toBeGreaterThanOrEqual(5_000);
    expect(ran.durationMs).toBeLessThan(10_000);
    expect(await isRunning(await pidIn('bg.pid'))).toBe(false);
  });

  it('what a check leaves running ends with it, in its group or not', async () => {
    const ran = await check('sleep 100 & echo $! > bg.pid; setsid sleep 100 & echo $! > daemon.pid');
    expect(ran.exitCode).toBe(0);
    expect(await isRunning(await pidIn('bg.pid'))).toBe(false);
    expect(await isRunning(await pidIn('daemon.pid'))).toBe(false);
  });

  it('cancelled: the group is killed and there is no result', async () => {
    const abort = new AbortController();
    const running = check('sleep 100 & echo $! > bg.pid; wait', { signal: abort.signal });
    await waitFor(() => existsSync(join(workspace(), 'bg.pid')), 10_000, 'the check to start');
    abort.abort();
    await expect(running).rejects.toBeInstanceOf(CancelledError);
    expect(await isRunning(await pidIn('bg.pid'))).toBe(false);
    await expect(check('true', { signal: abort.signal, logPath: join(dir, 'x.log') })).rejects.toBeInstanceOf(
      CancelledError,
    );
  });

  it("sees none of the invoker's environment: PATH, a HOME of its own (removed after), LANG, TZ", async () => {
    process.env[HOST_KEY] = HOST_KEY_VALUE;
    try {
      // No secret to mask: what is not in the log never reached the check.
      const ran = await check('env; echo "$HOME" > home.txt', { redactor: new Redactor([]) });
      expect(ran.exitCode).toBe(0);
      const out = await log();
      expect(out).not.toContain(HOST_KEY_VALUE);
      expect(out).not.toContain(HOST_KEY);
      const names = out
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('=')[0]);
      const allowed = [
        'PATH',
        'HOME',
        'LANG',
        'TZ',
        'BENCH_PIPELINE_ATTEMPT_ID',
        'PWD',
        'OLDPWD',
        'SHLVL',
        '_',
      ];
      expect(names.filter((n) => !allowed.includes(n!))).toEqual([]);
      expect(names).toContain('PATH');
      const home = (await readFile(join(workspace(), 'home.txt'), 'utf8')).trim();
      expect(home).not.toBe(process.env.HOME);
      expect(dirname(home)).toBe(dir);
      expect(existsSync(home)).toBe(false);
    } finally {
      delete process.env[HOST_KEY];
    }
  });

  it('a HOME the check made read-only is removed all the same', async () => {
    const ran = await check(
      'mkdir -p "$HOME/mod/x" && touch "$HOME/mod/x/f" && chmod -R a-w "$HOME/mod"; echo "$HOME"',
    );
    expect(ran.exitCode).toBe(0);
    expect(existsSync(ran.lastLine)).toBe(false);
  });

  it('a secret the check prints is masked in the log and in lastLine, also one split across writes', async () => {
    await writeFile(join(workspace(), 'leak.txt'), TOKEN);
    const half = TOKEN.length / 2;
    const run = `cat leak.txt; echo; printf '%s' "$(head -c ${half} leak.txt)"; sleep 0.2; tail -c +${half + 1} leak.txt; echo`;
    const ran = await check(run);
    const out = await log();
    expect(out).toBe('***\n***\n');
    expect(ran.lastLine).toBe('***');
  });

  it('a workspace that is not there is an infrastructure error with its reason', async () => {
    const error = await check('true', { workspace: join(dir, 'missing') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfraError);
    expect((error as InfraError).failure.reason).toBe('spawn-failed');
    expect((error as InfraError).message).toContain(join(dir, 'missing'));
  });
});

describe.skipIf(!engineUp)('runCheck, docker mode, real engine', () => {
  /** An image whose ENTRYPOINT would swallow the command, were it not replaced. */
  const TAG = `bench-pipeline-test/check-entrypoint:${process.pid}`;
  let image = '';
  let engine: Engine;
  let runId = '';
  let contextDir = '';

  /** The containers of this test's run, running or not. */
  const containers = () =>
    docker('ps', '-a', '-q', '--filter', `label=dev.bench-pipeline.run-id=${runId}`)
      .split('\n')
      .filter(Boolean);

  const inContainer = (run: string, over: Partial<CheckSpec> = {}) =>
    check(run, {
      container: { engine, image, runId, benchmark: 'b', attempt: 't-m1-attempt-2' },
      ...over,
    });

  beforeAll(async () => {
    contextDir = await mkdtemp(join(tmpdir(), 'bp-check-image-'));
    writeFileSync(join(contextDir, 'Dockerfile'), `FROM ${BASE}\nENTRYPOINT ["echo", "entrypoint"]\n`);
    docker('build', '-q', '-t', TAG, contextDir);
    image = docker('image', 'inspect', '--format', '{{.Id}}', TAG);
    engine = await connectEngine(engineAddress(undefined));
  }, 120_000);

  afterAll(async () => {
    execFileSync('docker', ['image', 'rm', '-f', TAG], { stdio: 'ignore' });
    await rm(contextDir, { recursive: true, force: true });
  });

  beforeEach(() => {
    runId = `check-${process.pid}-${Math.random().toString(16).slice(2)}`;
  });

  afterEach(() => {
    expect(containers()).toEqual([]);
  });

  it('runs sh -c past the entrypoint of the given image, in /workspace, with nothing of ours but it', async () => {
    await writeFile(join(workspace(), 'input.txt'), 'from the host\n');
    process.env[HOST_KEY] = HOST_KEY_VALUE;
    const run = [
      'while [ ! -e go ]; do sleep 0.1; done',
      'pwd; cat input.txt; echo written > out.txt',
      'env',
      '[ -e /var/run/docker.sock ] && echo has-socket || echo no-socket',
      'echo SCORE 1/2',
    ].join('; ');
    try {
      const running = inContainer(run, { redactor: new Redactor([]) });
      await waitFor(() => containers().length === 1, 30_000, 'the check container');
      const [info] = JSON.parse(docker('inspect', containers()[0]!));
      expect(info.Image).toBe(image);
      expect(info.Config.Entrypoint).toEqual([...MERGED_SH]);
      expect(info.Config.Cmd).toEqual([run]);
      expect(info.Config.WorkingDir).toBe('/workspace');
      expect(info.HostConfig.NetworkMode).toBe('none');
      expect(info.Mounts.map((m: { Destination: string; RW: boolean }) => [m.Destination, m.RW])).toEqual([
        ['/workspace', true],
      ]);
      expect(info.Config.Labels).toMatchObject({
        'dev.bench-pipeline': 'score-check',
        'dev.bench-pipeline.run-id': runId,
        'dev.bench-pipeline.benchmark': 'b',
        'dev.bench-pipeline.attempt': 't-m1-attempt-2',
      });
      expect(info.Config.Labels['dev.bench-pipeline.owner']).toContain(` ${process.pid} `);
      await writeFile(join(workspace(), 'go'), '');
      const ran = await running;
      expect(ran).toMatchObject({ exitCode: 0, signal: null, timedOut: false, lastLine: 'SCORE 1/2' });
      const out = await log();
      expect(out).toMatch(/^\/workspace\nfrom the host\n/);
      expect(out).not.toContain('entrypoint');
      expect(out).toContain('no-socket');
      expect(out).not.toContain(HOST_KEY);
      expect(out).not.toContain(HOST_KEY_VALUE);
      expect(await readFile(join(workspace(), 'out.txt'), 'utf8')).toBe('written\n');
    } finally {
      delete process.env[HOST_KEY];
    }
  });

  it("network none leaves only loopback; open, the engine's default", async () => {
    const interfaces = async (network: 'none' | 'open', logName: string) => {
      await inContainer('cat /proc/net/dev', { network, logPath: join(dir, logName) });
      const lines = (await readFile(join(dir, logName), 'utf8')).split('\n').slice(2).filter(Boolean);
      return lines.map((l) => l.split(':')[0]!.trim());
    };
    expect(await interfaces('none', 'none.log')).toEqual(['lo']);
    expect((await interfaces('open', 'open.log')).filter((i) => i !== 'lo').length).toBeGreaterThan(0);
  });

  it('a non-zero exit is a result; a secret printed is masked', async () => {
    await writeFile(join(workspace(), 'leak.txt'), TOKEN);
    const ran = await inContainer('cat leak.txt; echo; echo broken >&2; exit 3');
    expect(ran).toMatchObject({ exitCode: 3, signal: null, timedOut: false, lastLine: 'broken' });
    expect(await log()).toBe('***\nbroken\n');
  });

  it('a timeout kills the container, which is removed', async () => {
    const ran = await inContainer('echo started; sleep 60', { timeoutMs: 1_000 });
    expect(ran).toMatchObject({ exitCode: null, signal: 'SIGKILL', timedOut: true, lastLine: 'started' });
    expect(ran.durationMs).toBeLessThan(15_000);
  });

  it('cancelled: the container is removed and there is no result', async () => {
    const abort = new AbortController();
    const running = inContainer('sleep 60', { signal: abort.signal });
    await waitFor(() => containers().length === 1, 30_000, 'the check container');
    abort.abort();
    await expect(running).rejects.toBeInstanceOf(CancelledError);
  });

  it('an image the engine does not have is an infrastructure error with its reason', async () => {
    const error = await inContainer('true', {
      container: { engine, image: `sha256:${'0'.repeat(64)}`, runId, benchmark: 'b', attempt: 'a' },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InfraError);
    expect((error as InfraError).failure.reason).toBe('docker');
  });

  it('a remote engine gets the workspace as tar, and nothing comes back', async () => {
    const remote = await connectEngine(engineAddress('tcp://127.0.0.1:2375'));
    await writeFile(join(workspace(), 'input.txt'), 'sent as tar\n');
    const ran = await inContainer('cat input.txt; echo local-only > out.txt; cat out.txt', {
      container: { engine: remote, image, runId, benchmark: 'b', attempt: 'a' },
    });
    expect(ran.exitCode).toBe(0);
    expect(await log()).toBe('sent as tar\nlocal-only\n');
    expect(existsSync(join(workspace(), 'out.txt'))).toBe(false);
  });
});
