/**
 * Docker mode against a real engine (test/docker/engine.sh sets one up, with the base image
 * bench-pipeline-test/busybox:1). Without an engine the suite is skipped, except under CI=true,
 * where it must run.
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import type Docker from 'dockerode';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AttemptNetwork,
  connectEngine,
  containerNetwork,
  type Engine,
  engineAddress,
  GATEWAY_MOUNT,
  GATEWAY_SOCKET,
} from '../pipeline/docker.js';
import { InfraError } from '../pipeline/errors.js';
import { nodeKey } from '../pipeline/keys.js';
import { Redactor } from '../pipeline/redact.js';
import type { RunHarnessRunInput } from '../tasks/harness-input.js';
import { HarnessOutput } from '../tasks/harness-output.js';
import { harnessAdapter } from '../tasks/harnesses/registry.js';
import { runInContainer } from '../tasks/run-in-container.js';
import {
  BASE,
  docker,
  dockerBenchmark,
  dockerConfig,
  engineUp,
  IMAGE,
  imageContext,
} from './helpers/docker.js';
import { allFiles, benchmarkFiles, CLI, makeRig, REPO, type Rig, TOKEN, waitFor } from './helpers/rig.js';

/** The tool's containers still on the engine. */
/** The containers of runs (attempts, runtimes); not the score checks that test/run-check.test.ts makes meanwhile. */
const ownContainers = () =>
  docker(
    'ps',
    '-a',
    '--filter',
    'label=dev.bench-pipeline',
    '--format',
    '{{.ID}} {{.Label "dev.bench-pipeline"}}',
  )
    .split('\n')
    .filter((line) => line && !line.endsWith(' score-check'))
    .map((line) => line.split(' ')[0]!);

const attemptsOf = async (rig: Rig, slug: string) =>
  (await rig.ls(`benchmarks/${slug}/eval-attempts`)).filter((n) => !n.startsWith('.'));

const runLog = async (rig: Rig, slug: string, name: string) =>
  JSON.parse(await rig.read(`benchmarks/${slug}/eval-attempts/${name}/run-log.json`));

/** A private registry on a free port, with its access log, so that pulls can be counted. */
class Registry {
  readonly port = 5100 + Math.floor(Math.random() * 800);
  readonly host = `127.0.0.1:${this.port}`;
  #child: ChildProcess | undefined;
  #dir = '';
  #log = '';

  async start(): Promise<void> {
    this.#dir = await mkdtemp(join(tmpdir(), 'bp-registry-'));
    const config = join(this.#dir, 'config.yml');
    writeFileSync(
      config,
      `version: 0.1\nlog:\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: ${this.#dir}/data\nhttp:\n  addr: ${this.host}\n`,
    );
    this.#child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    const keep = (c: Buffer) => {
      this.#log += c.toString();
    };
    this.#child.stdout!.on('data', keep);
    this.#child.stderr!.on('data', keep);
    await waitFor(() => this.#log.includes('listening on'), 15_000, 'the registry to listen');
  }

  /**
   * The engine's manifest requests for `repo` (GET or HEAD), as `METHOD reference`. A marker
   * request goes first: once it is in the access log, so is every request before it. A pull by
   * tag is one HEAD of the tag, then a GET by digest only when the engine does not hold that
   * manifest already (which depends on what else it has), so pulls are counted by the tag.
   */
  async manifestRequests(repo: string): Promise<string[]> {
    const marker = `/v2/?marker=${Math.random()}`;
    await fetch(`http://${this.host}${marker}`);
    await waitFor(() => this.#log.includes(marker), 10_000, 'the registry access log');
    const asked = new RegExp(`"(GET|HEAD) /v2/${repo}/manifests/([^ ]+)`);
    return this.#log.split('\n').flatMap((l) => {
      const m = asked.exec(l);
      return m ? [`${m[1]} ${m[2]}`] : [];
    });
  }

  /** How many pulls of `repo:tag` reached the registry: each looks the tag up once. */
  async tagLookups(repo: string, tag: string): Promise<number> {
    return (await this.manifestRequests(repo)).filter((r) => r.endsWith(` ${tag}`)).length;
  }

  /** Builds an image from `context`, pushes it as `repo:tag` and removes it locally; returns the digest. */
  push(context: string, repo: string, tag: string): string {
    const ref = `${this.host}/${repo}:${tag}`;
    docker('build', '-q', '-t', ref, context);
    docker('push', '-q', ref);
    const digest = docker('image', 'inspect', '--format', '{{index .RepoDigests 0}}', ref);
    docker('image', 'rm', ref);
    return digest;
  }

  async stop(): Promise<void> {
    this.#child?.kill();
    await rm(this.#dir, { recursive: true, force: true });
  }
}

describe.skipIf(!engineUp)('docker mode, real engine', () => {
  const registry = new Registry();
  let contextDir = '';

  beforeAll(async () => {
    contextDir = await mkdtemp(join(tmpdir(), 'bp-image-'));
    imageContext(contextDir);
    docker('build', '-q', '-t', IMAGE, contextDir);
    await registry.start();
  }, 120_000);

  afterAll(async () => {
    await registry.stop();
    await rm(contextDir, { recursive: true, force: true });
  });

  it('runs each attempt in its own container that sees only /workspace, with the token in its env alone', async () => {
    const rig = await makeRig(dockerBenchmark('d', IMAGE));
    await rig.write({
      'bench.config.mjs': dockerConfig(
        { WRITE_TOKEN: '1', SLEEP: '1' },
        "docker: { cpus: 1.5, memory: '256m' },",
      ),
    });
    const running = rig.spawnCli(['run', '--harness', 't', '--attempts', '2', '--model', 'm1']);
    // While the containers run: the token is on no command line, neither the host's nor theirs.
    await waitFor(() => ownContainers().length > 0, 30_000, 'a container');
    const ids = ownContainers();
    for (const id of ids) {
      const inspect = docker('inspect', '--format', '{{json .Path}} {{json .Args}} {{json .Config.Cmd}}', id);
      expect(inspect).not.toContain(TOKEN);
      expect(inspect).toContain('--model');
      const mounts = JSON.parse(docker('inspect', '--format', '{{json .Mounts}}', id));
      expect(mounts.map((m: { Destination: string }) => m.Destination)).toEqual(['/workspace']);
      expect(docker('inspect', '--format', '{{.HostConfig.NanoCpus}} {{.HostConfig.Memory}}', id)).toBe(
        `1500000000 ${256 * 2 ** 20}`,
      );
      const labels = JSON.parse(docker('inspect', '--format', '{{json .Config.Labels}}', id));
      expect(labels['dev.bench-pipeline.benchmark']).toBe('d');
    }
    expect(execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })).not.toContain(TOKEN);
    const r = await running.done;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(await attemptsOf(rig, 'd')).toEqual(['t-m1-attempt-1', 't-m1-attempt-2']);
    const dir = 'benchmarks/d/eval-attempts/t-m1-attempt-1';
    expect(await rig.read(`${dir}/out.txt`)).toContain('args: --harness t --model m1');
    expect(await rig.read(`${dir}/out.txt`)).toContain('extra: from-config');
    // Nothing of the benchmark but the visible files, no other attempt, no Docker socket.
    expect(await rig.read(`${dir}/found.txt`)).toBe('');
    // Of the host's environment only what the harness is given (and what Docker itself sets).
    const envNames = (await rig.read(`${dir}/env-names.txt`)).split('\n').filter(Boolean);
    expect(envNames).toContain('TEST_TOKEN');
    expect(envNames).not.toContain('COUNT_FILE');
    expect(envNames).not.toContain('BENCH_PIPELINE_CACHE_DIR');
    const log = await rig.read(`${dir}/agent-run.log`);
    expect(log).toContain('token: ***');
    expect(log).toContain('to stderr');
    const files = await allFiles(join(rig.dir, 'benchmarks'));
    expect(files.filter((f) => f.content.includes(TOKEN)).map((f) => f.path)).toEqual([]);
    const logJson = await runLog(rig, 'd', 't-m1-attempt-1');
    expect(logJson).toMatchObject({ mode: 'docker', image: IMAGE, isolationDeviations: [] });
    expect(logJson.imageDigest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(logJson.engine).toMatch(/^Docker /);
    expect(ownContainers()).toEqual([]);
  });

  it('builds from the benchmark Dockerfile once, without the scorecard in the context', async () => {
    const rig = await makeRig(dockerBenchmark('b', 'bench-pipeline-test/built:1'));
    imageContext(join(rig.dir, 'benchmarks/b'), 'RUN ls / > /dev/null\n');
    await rig.write({
      'benchmarks/b/Dockerfile': `FROM ${BASE}\nCOPY . /context\nCOPY run-attempt /usr/local/bin/run-attempt\nENTRYPOINT ["/usr/local/bin/run-attempt"]\n`,
    });
    try {
      const first = await rig.cli(['run', '--harness', 't', '--attempts', '1']);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(first.stdout).toContain('(built)');
      const context = docker('run', '--rm', '--entrypoint', 'ls', 'bench-pipeline-test/built:1', '/context');
      expect(context.split('\n').sort()).toEqual(['Dockerfile', 'context.md', 'prompt.md', 'run-attempt']);
      const again = await rig.cli(['run', '--harness', 't', '--attempts', '2', '--build']);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      // The context is unchanged, so even --build does not build again.
      expect(again.stdout).not.toContain('Step 1/');
      expect(again.stdout).toContain('(local)');

      // A changed context is a different image: plan says so, run rebuilds and re-pins.
      const lock = await rig.read('benchmarks/b/runner.lock.yaml');
      await rig.write({ 'benchmarks/b/tools.txt': 'a new file for the image\n' });
      const plan = await rig.cli(['plan', '--harness', 't', '--attempts', '2']);
      expect(plan.stdout).toContain('the Dockerfile context changed');
      const rebuilt = await rig.cli(['run', '--harness', 't', '--attempts', '2', '--rerun', 'stale']);
      expect(rebuilt.code, rebuilt.stdout + rebuilt.stderr).toBe(0);
      expect(rebuilt.stdout).toContain('(built)');
      const relocked = await rig.read('benchmarks/b/runner.lock.yaml');
      expect(relocked).not.toBe(lock);
      expect(
        docker('run', '--rm', '--entrypoint', 'ls', 'bench-pipeline-test/built:1', '/context'),
      ).toContain('tools.txt');
      expect((await runLog(rig, 'b', 't-default-attempt-2')).imageDigest).toBe(
        relocked.match(/digest: (\S+)/)![1],
      );
    } finally {
      docker('image', 'rm', '-f', 'bench-pipeline-test/built:1');
    }
  });

  it('pulls once, reuses the image, keeps the digest pinned after the tag moves, and --update-image re-pins', async () => {
    const repo = `bp/pull-${Date.now()}`;
    // An image of its own, so that after the push no copy of it is left on the engine under any name.
    const own = imageContext(await mkdtemp(join(tmpdir(), 'bp-own-')), `LABEL repo=${repo}\n`);
    const first = registry.push(own, repo, 'v');
    await rm(own, { recursive: true, force: true });
    const ref = `${registry.host}/${repo}:v`;
    const rig = await makeRig(dockerBenchmark('p', ref));
    let second: string | undefined;
    try {
      const r1 = await rig.cli(['run', '--harness', 't', '--attempts', '1']);
      expect(r1.code, r1.stdout + r1.stderr).toBe(0);
      // One pull: the tag looked up once (and the manifest fetched by digest at most once).
      expect(await registry.tagLookups(repo, 'v')).toBe(1);
      expect((await registry.manifestRequests(repo)).length).toBeLessThanOrEqual(2);
      expect(await rig.read('benchmarks/p/runner.lock.yaml')).toContain(`digest: ${first}`);

      // The tag moves to a new image; the pinned digest still rules, and the registry is not asked.
      const moved = imageContext(await mkdtemp(join(tmpdir(), 'bp-moved-')), 'LABEL moved=yes\n');
      second = registry.push(moved, repo, 'v');
      expect(second).not.toBe(first);
      const before = await registry.manifestRequests(repo);
      const r2 = await rig.cli(['run', '--harness', 't', '--attempts', '2']);
      expect(r2.code, r2.stdout + r2.stderr).toBe(0);
      expect(await registry.manifestRequests(repo)).toEqual(before);
      expect((await runLog(rig, 'p', 't-default-attempt-2')).imageDigest).toBe(first);

      const r3 = await rig.cli(['run', '--harness', 't', '--attempts', '2', '--update-image']);
      expect(r3.code, r3.stdout + r3.stderr).toBe(0);
      expect(await rig.read('benchmarks/p/runner.lock.yaml')).toContain(`digest: ${second}`);
      const plan = await rig.cli(['plan', '--harness', 't', '--attempts', '2']);
      expect(plan.stdout).toContain('stale');
      await rm(moved, { recursive: true, force: true });

      // rerun repeats attempt 1 on its own digest (pulled by digest once it is gone here), not the lock's.
      docker('image', 'rm', '-f', first);
      const lookups = await registry.tagLookups(repo, 'v');
      const again = await rig.cli(['rerun', 'benchmarks/p/eval-attempts/t-default-attempt-1']);
      expect(again.code, again.stdout + again.stderr).toBe(0);
      expect(await registry.tagLookups(repo, 'v')).toBe(lookups);
      expect((await runLog(rig, 'p', 't-default-attempt-3')).imageDigest).toBe(first);
      expect(await rig.read('benchmarks/p/runner.lock.yaml')).toContain(`digest: ${second}`);
    } finally {
      for (const d of [ref, first, second])
        if (d) execFileSync('docker', ['image', 'rm', '-f', d], { stdio: 'ignore' });
    }
  });

  it('--rerun with the lock gone: the image is pinned again in the same run, and what is redone follows the real keys', async () => {
    // Timed out at 1s; the timeout is no input of the key, so the rerun has the same key.
    const rig = await makeRig(dockerBenchmark('u', IMAGE));
    await rig.write({ 'bench.config.mjs': dockerConfig({ SLEEP: '2' }) });
    const slow = await rig.cli(['run', '--harness', 't', '--attempts', '2', '--timeout', '1s']);
    expect(slow.code, slow.stdout + slow.stderr).toBe(1);
    const before = await runLog(rig, 'u', 't-default-attempt-1');
    expect(before.outcome).toBe('timed-out');
    const unlock = () => rm(join(rig.dir, 'benchmarks/u/runner.lock.yaml'));
    await unlock();
    // Unpinned, the keys are not known yet: plan says run decides.
    const plan = await rig.cli(['plan', '--harness', 't', '--attempts', '2', '--rerun', 'timed-out']);
    expect(plan.stdout).toContain('the image is not pinned yet: run decides once it is');
    const redo = await rig.cli(['run', '--harness', 't', '--attempts', '2', '--rerun', 'timed-out']);
    expect(redo.code, redo.stdout + redo.stderr).toBe(0);
    expect(redo.stdout).toMatch(/2 completed \(2 succeeded/);
    const after = await runLog(rig, 'u', 't-default-attempt-1');
    expect([after.outcome, after.key, after.imageDigest]).toEqual([
      'succeeded',
      before.key,
      before.imageDigest,
    ]);
    expect(await rig.read('benchmarks/u/runner.lock.yaml')).toContain(before.imageDigest);
    // Unpinned again, now that they succeeded: nothing is redone.
    await unlock();
    const again = await rig.cli(['run', '--harness', 't', '--attempts', '2', '--rerun', 'timed-out']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.stdout).toMatch(/0 completed .*2 already done/);
    expect((await runLog(rig, 'u', 't-default-attempt-1')).runId).toBe(after.runId);
    expect(await rig.ls('benchmarks/u/eval-attempts/.replaced')).toHaveLength(2);
  });

  it('an image that cannot be pulled fails its nodes, and every attempt waiting on it is reported missing', async () => {
    // Nothing listens on this port: the pull fails at once.
    const rig = await makeRig(dockerBenchmark('p', '127.0.0.1:5999/bench-pipeline-test/nowhere:1'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '2']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/p\/resolve-image: could not pull/);
    expect(r.stdout).toMatch(/2 not completed/);
    expect(r.stdout).toMatch(
      /p\/pin-digest failed: 2 attempts \(p\/t-default-attempt-1, p\/t-default-attempt-2\)/,
    );
    expect(await attemptsOf(rig, 'p')).toEqual([]);
    expect(existsSync(join(rig.dir, 'benchmarks/p/runner.lock.yaml'))).toBe(false);
  });

  it('rerun refuses when the recorded image is a local id that is gone', async () => {
    const ref = 'bench-pipeline-test/gone:1';
    docker(
      'build',
      '-q',
      '-t',
      ref,
      imageContext(await mkdtemp(join(tmpdir(), 'bp-gone-')), 'LABEL gone=yes\n'),
    );
    const rig = await makeRig(dockerBenchmark('g', ref));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const { imageDigest } = await runLog(rig, 'g', 't-default-attempt-1');
    docker('image', 'rm', '-f', ref);
    const again = await rig.cli(['rerun', 'benchmarks/g/eval-attempts/t-default-attempt-1']);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`the attempt ran on image ${imageDigest}`);
    expect(again.stderr).toContain('cannot be pulled');
    expect(await attemptsOf(rig, 'g')).toEqual(['t-default-attempt-1']);
  });

  it('images build makes the harness image once; its run-attempt drives each built-in CLI, in its image or mounted as a runtime', async () => {
    const tag = 'bench-pipeline-test/harness:1';
    const agent = 'bench-pipeline-test/agents:1';
    const bare = 'bench-pipeline-test/bare:1';
    const build = ['images', 'build', '--base', 'bench-pipeline-test/node:1', '--clis', '', '--tag', tag];
    const rig = await makeRig(
      benchmarkFiles('h', {
        image: agent,
        allowed_harnesses: '\n  - claude-code\n  - codex\n  - opencode',
      }),
    );
    try {
      const first = await rig.cli(build);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      const again = await rig.cli(build);
      expect(again.stdout).toContain(`${tag}: up to date (harness image)`);

      // The agent CLIs (stand-ins that record their invocation) on top of the harness image.
      const context = await mkdtemp(join(tmpdir(), 'bp-agents-'));
      copyFileSync(join(REPO, 'test/fixtures/agent-cli.sh'), join(context, 'agent'));
      const install = ['claude', 'codex', 'opencode']
        .map((c) => `COPY agent /opt/bench-pipeline/bin/${c}`)
        .join('\n');
      writeFileSync(join(context, 'Dockerfile'), `FROM ${tag}\n${install}\n`);
      docker('build', '-q', '-t', agent, context);
      await rm(context, { recursive: true, force: true });

      const keys = { ANTHROPIC_API_KEY: TOKEN, OPENAI_API_KEY: TOKEN, OPENROUTER_API_KEY: TOKEN };
      for (const [harness, model, name] of [
        ['claude-code', 'sonnet', 'claude-code-sonnet'],
        ['codex', 'gpt-x', 'codex-gpt-x'],
        ['opencode', 'openrouter/some-model', 'opencode-some-model'],
      ] as const) {
        const r = await rig.cli(['run', '--harness', harness, '--model', model, '--attempts', '1'], keys);
        expect(r.code, r.stdout + r.stderr).toBe(0);
        const dir = `benchmarks/h/eval-attempts/${name}-attempt-1`;
        const invoked = await rig.read(`${dir}/invoked.txt`);
        expect(invoked).toMatch(
          new RegExp(`^argv: ${harness === 'claude-code' ? 'claude' : harness} .*${model}`, 'm'),
        );
        expect(invoked).toContain('cwd: /workspace');
        expect(invoked).toContain('stdin: /dev/null');
        expect(invoked).toContain('home: /tmp/run-attempt-home-');
        // The wrapper prompt is an argument of the CLI, not left in its environment.
        expect(invoked).toContain('BENCH_PIPELINE_PROMPT: \n');
        if (harness === 'claude-code') expect(invoked).toContain('IS_SANDBOX: 1');
        if (harness === 'codex') expect(invoked).toContain('CODEX_API_KEY: set');
        // Through the model gateway: a capability in the CLI's key variable, its base URL run-attempt's forwarder.
        const key = {
          'claude-code': 'ANTHROPIC_API_KEY',
          codex: 'OPENAI_API_KEY',
          opencode: 'OPENROUTER_API_KEY',
        };
        expect(invoked).toContain(`${key[harness]}: a gateway capability`);
        expect(invoked).not.toContain('not a gateway capability');
        if (harness === 'claude-code')
          expect(invoked).toMatch(/^ANTHROPIC_BASE_URL: http:\/\/127\.0\.0\.1:\d+$/m);
        if (harness === 'opencode') expect(invoked).toContain('opencode provider: the gateway');
        expect(await rig.read(`${dir}/result.txt`)).toBe(
          `done by ${harness === 'claude-code' ? 'claude' : harness}\n`,
        );
      }
      const files = await allFiles(join(rig.dir, 'benchmarks'));
      expect(files.filter((f) => f.content.includes(TOKEN)).map((f) => f.path)).toEqual([]);

      // opencode has no vendor default model: run-attempt says so with exit code 4.
      const workspace = join(rig.dir, 'benchmarks/h');
      const noModel = spawnSync('docker', [
        'run',
        '--rm',
        '-v',
        `${workspace}:/workspace`,
        agent,
        '--harness',
        'opencode',
      ]);
      expect(noModel.status).toBe(4);
      expect(noModel.stderr.toString()).toContain('opencode has no vendor default model');

      // The same harness as a runtime mount: a benchmark image with neither node nor the CLIs.
      docker('build', '-q', '-t', bare, '-', {
        input: `FROM bench-pipeline-test/node:1\nRUN rm /usr/local/bin/node\n`,
      });
      await rig.write({
        'bench.config.mjs': `export default { harnesses: { 'claude-code': { runtime: { image: '${agent}' } } } };\n`,
        'benchmarks/h/runner.yaml': (await rig.read('benchmarks/h/runner.yaml')).replace(agent, bare),
      });
      const mounted = await rig.cli(
        ['run', '--harness', 'claude-code', '--model', 'opus', '--attempts', '2'],
        keys,
      );
      expect(mounted.code, mounted.stdout + mounted.stderr).toBe(0);
      const log = await runLog(rig, 'h', 'claude-code-opus-attempt-2');
      expect(log.runtime).toBe(docker('image', 'inspect', '--format', '{{.Id}}', agent));
      expect(await rig.read('benchmarks/h/eval-attempts/claude-code-opus-attempt-2/invoked.txt')).toContain(
        'argv: claude -p',
      );
      expect(mounted.stdout.match(/claude-code: runtime \/opt\/bench-pipeline from/g)).toHaveLength(1);
    } finally {
      for (const image of [agent, tag, bare]) spawnSync('docker', ['image', 'rm', '-f', image]);
    }
  });

  it('kills the container at the timeout and records timed-out', async () => {
    const rig = await makeRig(dockerBenchmark('t', IMAGE));
    await rig.write({ 'bench.config.mjs': dockerConfig({ HANG: '1' }) });
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1', '--timeout', '3s']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const log = await runLog(rig, 't', 't-default-attempt-1');
    expect(log).toMatchObject({ outcome: 'timed-out', timedOut: true });
    expect(await rig.read('benchmarks/t/eval-attempts/t-default-attempt-1/agent-run.log')).toContain(
      'hanging',
    );
    expect(ownContainers()).toEqual([]);
  });

  it('after kill -9 of the CLI mid-batch, a rerun removes the orphan containers and completes the set', async () => {
    const rig = await makeRig(dockerBenchmark('k', IMAGE));
    await rig.write({ 'bench.config.mjs': dockerConfig({ SLEEP: '30' }) });
    const running = rig.spawnCli(['run', '--harness', 't', '--attempts', '3', '--concurrency', '3']);
    await waitFor(() => ownContainers().length === 3, 30_000, 'three containers');
    running.child.kill('SIGKILL');
    await running.done;
    expect(ownContainers()).toHaveLength(3);
    await rig.write({ 'bench.config.mjs': dockerConfig() });
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '3']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('left by a dead invocation');
    expect(await attemptsOf(rig, 'k')).toEqual([
      't-default-attempt-1',
      't-default-attempt-2',
      't-default-attempt-3',
    ]);
    expect(await rig.ls('benchmarks/k/.pipeline/staging')).toEqual([]);
    expect(ownContainers()).toEqual([]);
  });

  it('SIGINT removes the running containers and leaves the attempts missing', async () => {
    const rig = await makeRig(dockerBenchmark('s', IMAGE));
    await rig.write({ 'bench.config.mjs': dockerConfig({ SLEEP: '30' }) });
    const running = rig.spawnCli(['run', '--harness', 't', '--attempts', '2']);
    await waitFor(() => ownContainers().length === 2, 30_000, 'two containers');
    running.child.kill('SIGINT');
    const r = await running.done;
    expect(r.code).toBe(1);
    expect(ownContainers()).toEqual([]);
    expect(await attemptsOf(rig, 's')).toEqual([]);
  });

  it('network: model without the gateway is refused before any container, and the attempt stays missing', async () => {
    const rig = await makeRig({
      ...benchmarkFiles('n', { image: IMAGE, network: 'model' }),
      'bench.config.mjs': dockerConfig(),
    });
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1']);
    expect(r.code).toBe(2);
    expect(r.stderr + r.stdout).toMatch(
      /benchmarks\/n\/runner\.yaml:\d+:\d+: network: model leaves a container no way out but the model gateway, and t does not go through it/,
    );
    expect(await attemptsOf(rig, 'n')).toEqual([]);
    expect(ownContainers()).toEqual([]);
  });

  it('with a remote engine (tcp), the workspace travels as tar in and out', async () => {
    const rig = await makeRig(dockerBenchmark('r', IMAGE));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], {
      DOCKER_HOST: 'tcp://127.0.0.1:2375',
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const dir = 'benchmarks/r/eval-attempts/t-default-attempt-1';
    expect(await rig.read(`${dir}/out.txt`)).toContain('prompt: # r');
    expect(await rig.read(`${dir}/found.txt`)).toBe('');
  });

  it('an unreachable engine stops the run and says where it looked; it never falls back to lite', async () => {
    const rig = await makeRig(dockerBenchmark('u', IMAGE));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], {
      DOCKER_HOST: 'tcp://127.0.0.1:9',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('tcp://127.0.0.1:9');
    expect(r.stderr).toContain('from DOCKER_HOST');
    expect(await rig.invocations()).toBe(0);
    expect(await attemptsOf(rig, 'u')).toEqual([]);
  });
});

describe('how an attempt container reaches its model', () => {
  const local = engineAddress('unix:///var/run/docker.sock');
  const remote = engineAddress('tcp://127.0.0.1:2375');
  const gateway = { socketDir: '/tmp/gw', basePath: '' } as const;

  it('open: the engine default network, with or without the gateway', () => {
    expect(containerNetwork(local, 'open', undefined, 'claude-code')).toEqual({});
    expect(containerNetwork(local, 'open', gateway, 'claude-code')).toEqual({});
  });

  it('model: no network but the gateway socket; without a gateway it is refused', () => {
    expect(containerNetwork(local, 'model', gateway, 'claude-code')).toEqual({ NetworkMode: 'none' });
    const refused = () => containerNetwork(local, 'model', undefined, 'scripted');
    expect(refused).toThrow(InfraError);
    expect(refused).toThrow(/network: model .* scripted does not go through the gateway/);
  });

  it('a remote engine cannot mount the socket: refused, naming the way to run direct', () => {
    for (const network of ['open', 'model'] as const) {
      const refused = () => containerNetwork(remote, network, gateway, 'codex');
      expect(refused).toThrow(/tcp:\/\/127\.0\.0\.1:2375 is remote: .* gateway's socket/);
      expect(refused).toThrow(/`gateway: false` on codex/);
    }
    expect(containerNetwork(remote, 'open', undefined, 'codex')).toEqual({});
  });
});

/**
 * The gateway seen from inside a container: a stand-in gateway (an HTTP server on a unix socket
 * in a host directory) and a plain HTTP server on the host's docker bridge address; a harness
 * image whose claude is a probe (test/fixtures/gateway-probe.sh) run by the image's real
 * run-attempt, through runInContainer with the gateway fields a run gives it.
 */
describe.skipIf(!engineUp)('docker mode, the model gateway', () => {
  const harness = 'bench-pipeline-test/gateway-harness:1';
  const agent = 'bench-pipeline-test/gateway-agent:1';
  /** What a harness gets in place of the real key. */
  const CAPABILITY = 'bpcap-attempt-7c1e5a90d2b34f68';
  let dir = '';
  let socketDir = '';
  let engine: Engine;
  let image = '';
  let bridgeUrl = '';
  const servers: Server[] = [];
  const seen: { method?: string; url?: string; apiKey?: string; body: string }[] = [];
  let connections = 0;

  /** Listens on a unix socket at `at`, or on a free port of `{ host }`. */
  const listen = async (server: Server, at: string | { host: string }) => {
    servers.push(server);
    await new Promise<void>((resolve) => {
      if (typeof at === 'string') server.listen(at, resolve);
      else server.listen(0, at.host, resolve);
    });
    return server;
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bp-gateway-'));
    writeFileSync(join(dir, 'bench.config.mjs'), 'export default {};\n');
    const build = ['images', 'build', '--base', 'bench-pipeline-test/node:1', '--clis', '', '--tag', harness];
    execFileSync(process.execPath, [CLI, ...build], {
      cwd: dir,
      env: { ...process.env, BENCH_PIPELINE_CACHE_DIR: join(dir, '.cache') },
    });
    const context = join(dir, 'agent');
    mkdirSync(context);
    copyFileSync(join(REPO, 'test/fixtures/gateway-probe.sh'), join(context, 'claude'));
    writeFileSync(
      join(context, 'Dockerfile'),
      `FROM ${harness}\nCOPY claude /opt/bench-pipeline/bin/claude\n`,
    );
    docker('build', '-q', '-t', agent, context);
    image = docker('image', 'inspect', '--format', '{{.Id}}', agent);
    engine = await connectEngine(engineAddress(undefined));

    // The host as a container on the default network sees it: its default route.
    const route = docker('run', '--rm', BASE, 'ip', 'route');
    const bridge = /default via (\S+)/.exec(route)?.[1];
    if (!bridge) throw new Error(`no default route in a container: ${route}`);
    const plain = await listen(
      createServer((_q, s) => s.end('bridge reached')),
      { host: bridge },
    );
    bridgeUrl = `http://${bridge}:${(plain.address() as AddressInfo).port}/`;

    socketDir = join(dir, 'gateway');
    mkdirSync(socketDir);
    const gateway = createServer(async (q, s) => {
      const apiKey = q.headers['x-api-key'];
      seen.push({
        method: q.method,
        url: q.url,
        apiKey: typeof apiKey === 'string' ? apiKey : undefined,
        body: await text(q),
      });
      s.end(`gateway saw ${q.method} ${q.url}`);
    });
    gateway.on('connection', () => {
      connections++;
    });
    await listen(gateway, join(socketDir, GATEWAY_SOCKET));
  }, 180_000);

  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      server.close();
    }
    for (const i of [agent, harness]) spawnSync('docker', ['image', 'rm', '-f', i]);
    await rm(dir, { recursive: true, force: true });
  });

  /** One claude-code attempt of the probe, on `network`, through the gateway. */
  async function probe(network: AttemptNetwork, env: Record<string, string> = {}) {
    seen.length = 0;
    connections = 0;
    const attemptDir = await mkdtemp(join(dir, 'attempt-'));
    const workspace = join(attemptDir, 'workspace');
    mkdirSync(workspace);
    writeFileSync(join(workspace, 'prompt.md'), '# probe\n');
    const redactor = new Redactor([CAPABILITY]);
    const output = await HarnessOutput.open(
      redactor,
      { log: join(attemptDir, 'agent-run.log'), transcript: undefined },
      undefined,
    );
    const config = { env: { PROBE_BRIDGE: bridgeUrl, ...env }, baseUrl: 'http://configured.invalid' };
    const adapter = harnessAdapter('claude-code', { 'claude-code': config })!;
    let inspected: Docker.ContainerInspectInfo | undefined;
    const container = {
      engine,
      runtimes: new Map(),
      image,
      runId: 'gateway',
      cpus: undefined,
      memoryBytes: undefined,
    };
    const input: RunHarnessRunInput = {
      attempt: {
        benchmark: 'gw',
        name: 'claude-code-default-attempt-1',
        modelId: 'claude-code-default',
        n: 1,
        harness: 'claude-code',
        model: undefined,
        variant: undefined,
      },
      seedKey: '',
      pinKey: '',
      mode: 'docker',
      imageDigest: image,
      hostRuntimes: {},
      adapter,
      cliVersion: 'probe',
      model: undefined,
      variant: undefined,
      wrapperPrompt: 'Probe.',
      seed: { tree: workspace, entries: [], files: 0, bytes: 0 },
      workspaceRoot: attemptDir,
      staging: attemptDir,
      attemptTag: '',
      timeoutMs: 60_000,
      // As a run gives it: the harness env, the capability as the token, a host base-URL override.
      env: {
        ...config.env,
        ANTHROPIC_API_KEY: CAPABILITY,
        ANTHROPIC_BASE_URL: 'http://from-the-host.invalid',
      },
      container,
      gateway: { socketDir, basePath: '' },
      network,
      onSpawn: async (running) => {
        if ('containerId' in running)
          inspected = await engine.docker.getContainer(running.containerId).inspect();
      },
    };
    const ctx = {
      key: nodeKey({ name: 'run-harness', version: 1 }, {}),
      signal: new AbortController().signal,
      emit: () => {},
      redactor,
    };
    const started = Date.now();
    const ran = await runInContainer(input, container, workspace, output, ctx, new AbortController().signal);
    await output.close();
    const reached = Object.fromEntries(
      readFileSync(join(workspace, 'reached.txt'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
    );
    const log = readFileSync(join(attemptDir, 'agent-run.log'), 'utf8');
    return {
      ran,
      reached,
      log,
      inspected: inspected!,
      seconds: (Date.now() - started) / 1000,
      requests: [...seen],
      connections,
    };
  }

  it('network: model reaches the gateway through the mounted socket alone: no host port, no outside address', async () => {
    const r = await probe('model', { PROBE_OUTSIDE: 'http://1.1.1.1/' });
    expect(r.ran, r.log).toMatchObject({ exitCode: 0, timedOut: false });
    expect(r.inspected.HostConfig.NetworkMode).toBe('none');
    const gatewayMount = r.inspected.Mounts.find((m) => m.Destination === GATEWAY_MOUNT);
    expect(gatewayMount).toMatchObject({ Source: socketDir, RW: false });
    // Loopback and nothing else.
    expect(r.reached.interfaces).toBe('lo');
    // The CLI's base URL is run-attempt's loopback forwarder: not the configured one, not the host's.
    expect(r.reached.base).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(r.reached.gateway).toBe('gateway saw POST /v1/messages');
    expect(r.requests).toEqual([
      { method: 'POST', url: '/v1/messages', apiKey: CAPABILITY, body: '{"model":"m"}' },
    ]);
    // The kernel has no route for anything else: refused at once, not a firewall's timeout.
    expect(r.reached.bridge).toContain('Network is unreachable');
    expect(r.reached.outside).toContain('Network is unreachable');
    expect(r.log).not.toContain('run-attempt: the model gateway');
    // The probe left a connection through the forwarder open (the gateway's second): run-attempt
    // ended with the CLI all the same.
    expect(r.connections).toBe(2);
    expect(r.seconds).toBeLessThan(30);
  });

  it('bench-pipeline run, network: model: the real gateway is the only way out, and the key stays on the host', async () => {
    // The model API on the host's loopback: the gateway reaches it, a container could not.
    const upstreamSaw: (string | undefined)[] = [];
    const api = await listen(
      createServer((q, s) => {
        const key = q.headers['x-api-key'];
        upstreamSaw.push(typeof key === 'string' ? key : undefined);
        q.resume();
        s.end('the model API answered');
      }),
      { host: '127.0.0.1' },
    );
    const upstream = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
    const rig = await makeRig({
      ...benchmarkFiles('n', { image: agent, network: 'model', allowed_harnesses: '[claude-code]' }),
      'bench.config.mjs': `export default { harnesses: { 'claude-code': { baseUrl: '${upstream}', env: { PROBE_BRIDGE: '${bridgeUrl}' } } } };\n`,
    });
    const r = await rig.cli(['run', '--harness', 'claude-code', '--attempts', '1'], {
      ANTHROPIC_API_KEY: TOKEN,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const attempt = 'benchmarks/n/eval-attempts/claude-code-default-attempt-1';
    const reached = await rig.read(`${attempt}/reached.txt`);
    expect(reached).toContain('gateway: the model API answered');
    expect(reached).toMatch(/key: bpgw-/);
    expect(reached).toMatch(/bridge: .*Network is unreachable/);
    expect(upstreamSaw).toEqual([TOKEN]);
    const log = JSON.parse(await rig.read(`${attempt}/run-log.json`));
    expect(log.gateway).toMatchObject({ used: true, requests: 1, upstream, keyEnv: 'ANTHROPIC_API_KEY' });
    const files = await allFiles(join(rig.dir, 'benchmarks'));
    expect(files.filter((f) => f.content.includes(TOKEN)).map((f) => f.path)).toEqual([]);
  });

  it('network: open reaches the gateway the same way, and the bridge port too', async () => {
    const r = await probe('open');
    expect(r.ran, r.log).toMatchObject({ exitCode: 0, timedOut: false });
    expect(r.inspected.HostConfig.NetworkMode).not.toBe('none');
    expect(r.reached.interfaces).toContain('eth0');
    expect(r.reached.gateway).toBe('gateway saw POST /v1/messages');
    expect(r.requests).toEqual([
      { method: 'POST', url: '/v1/messages', apiKey: CAPABILITY, body: '{"model":"m"}' },
    ]);
    expect(r.reached.bridge).toBe('bridge reached');
  });
});
