/**
 * The built-in adapters against the real claude, codex and opencode CLIs (installed by
 * test/harnesses/install-clis.sh, outside the project's install), talking to a fake model API on
 * 127.0.0.1 that scripts one tool call (write hello.txt) and a final message echoing the key.
 * Without the CLIs the suite is skipped, except under CI=true, where it must run.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HELLO_FILE, helloContent, type ModelServer, startModelServer } from './fakes/model-server.js';
import { CLIS, HARNESSES, clisInstalled as installed } from './helpers/clis.js';
import { allFiles, benchmarkFiles, makeRig, type Rig, TOKEN, waitFor } from './helpers/rig.js';

const KEYS = { ANTHROPIC_API_KEY: TOKEN, OPENAI_API_KEY: TOKEN, OPENROUTER_API_KEY: TOKEN };

/** bench.config.mjs pointing each built-in harness at the fake API through its baseUrl. */
const config = (url: string) => `export default {
  harnesses: {
${HARNESSES.map((h) => `    '${h.harness}': { baseUrl: '${url}${h.v1 ? '/v1' : ''}' },`).join('\n')}
  },
};
`;

const benchmark = () => benchmarkFiles('b', { allowed_harnesses: '[claude-code, codex, opencode]' });

/** Processes whose working directory is `dir` (or inside it). */
function processesIn(dir: string): string[] {
  return readdirSync('/proc').filter((pid) => {
    if (!/^\d+$/.test(pid)) return false;
    try {
      return readlinkSync(`/proc/${pid}/cwd`).startsWith(dir);
    } catch {
      return false; // Gone meanwhile, or not ours to read.
    }
  });
}

const runLog = async (rig: Rig, dir: string) =>
  JSON.parse(await rig.read(`benchmarks/b/eval-attempts/${dir}/run-log.json`));

describe.skipIf(!installed)('real agent CLIs against a fake model API', () => {
  let server: ModelServer;
  let hanging: ModelServer;
  const env = { ...KEYS, PATH: `${CLIS}:${process.env.PATH}` };

  beforeAll(async () => {
    [server, hanging] = await Promise.all([startModelServer(), startModelServer({ hang: true })]);
  });
  afterAll(async () => {
    await Promise.all([server?.close(), hanging?.close()]);
  });

  for (const h of HARNESSES) {
    it(`${h.harness}: two attempts run the tool call, keep the transcript and summary, share no state, leak no key`, async () => {
      const rig = await makeRig({ ...benchmark(), 'bench.config.mjs': config(server.url) });
      const r = await rig.cli(['run', '--harness', h.harness, '--model', h.model, '--attempts', '2'], env);
      expect(r.code, r.stdout + r.stderr).toBe(0);

      const homes = new Set<string>();
      for (const n of [1, 2]) {
        const dir = `${h.id}-attempt-${n}`;
        expect(await rig.read(`benchmarks/b/eval-attempts/${dir}/${HELLO_FILE}`)).toBe(
          helloContent(h.harness),
        );
        const log = await runLog(rig, dir);
        expect(log.outcome).toBe('succeeded');
        expect(log.harness.cliVersion).toMatch(/\d+\.\d+\.\d+/);
        expect(log.summary).toMatchObject({ status: 'success', inputTokens: 2000, outputTokens: 100 });
        expect(log.summary.toolCalls).toBeGreaterThanOrEqual(1);
        expect(log.summary.turns).toBeGreaterThanOrEqual(1);
        // codex reports no cost; opencode reports 0 for a model without prices.
        if (h.harness === 'claude-code') expect(log.summary.costUsd).toBeGreaterThan(0);
        if (h.harness === 'opencode') expect(log.summary.costUsd).toBe(0);
        const transcript = await rig.read(`benchmarks/b/eval-attempts/${dir}/transcript.jsonl`);
        expect(
          transcript
            .split('\n')
            .filter(Boolean)
            .every((l) => l.startsWith('{')),
        ).toBe(true);
        // The CLI's configuration and state: its own directory beside the workspace.
        const home = `${log.workspace.path}.home`;
        expect(readdirSync(home).length).toBeGreaterThan(0);
        homes.add(home);
      }
      expect(homes.size).toBe(2);
      // Only in the workspace: not where the CLI was invoked from (a CLI may trust PWD over its cwd).
      for (const dir of [rig.dir, process.cwd()]) expect(existsSync(join(dir, HELLO_FILE))).toBe(false);

      // The fake API echoed the key into the final message: masked wherever the tool wrote.
      expect(server.requests.some((q) => q.apiKey === TOKEN)).toBe(true);
      // Nor in the kept temp workspaces and CLI homes (sessions, databases): masked where it lies.
      const written = [
        join(rig.dir, 'benchmarks'),
        ...[...homes].flatMap((home) => [home, home.replace(/\.home$/, '')]),
      ];
      const files = (await Promise.all(written.map((d) => allFiles(d)))).flat();
      expect(files.filter((f) => f.content.includes(TOKEN)).map((f) => f.path)).toEqual([]);
      expect(await rig.read(`benchmarks/b/eval-attempts/${h.id}-attempt-1/agent-run.log`)).toContain(
        'Called with key ***',
      );

      const status = await rig.cli(['status'], env);
      expect(status.stdout).toMatch(/attempt 1: success: .*1 tool call.*2000 in \/ 100 out tokens/);
    });
  }

  it('a CLI that keeps running after its final event is ended, and the attempt counts', async () => {
    // No baseUrl in the config: ANTHROPIC_BASE_URL from the environment points claude at the API.
    const rig = await makeRig({ ...benchmark(), 'bench.config.mjs': 'export default {};\n' });
    // claude as it is, then lingering (as a CLI waiting on a child it started would).
    const bin = join(rig.dir, 'bin');
    await mkdir(bin);
    const real = join(CLIS, 'claude');
    const script = `#!/bin/sh\n[ "$1" = --version ] && exec "${real}" "$@"\n"${real}" "$@"\nsleep 600\n`;
    writeFileSync(join(bin, 'claude'), script, { mode: 0o755 });
    const args = [
      '--harness',
      'claude-code',
      '--model',
      'claude-sonnet-4-5',
      '--attempts',
      '1',
      '--timeout',
      '2m',
    ];
    const r = await rig.cli(['run', ...args], {
      ...env,
      PATH: `${bin}:${env.PATH}`,
      ANTHROPIC_BASE_URL: server.url,
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const log = await runLog(rig, 'claude-code-claude-sonnet-4-5-attempt-1');
    expect(log).toMatchObject({ outcome: 'succeeded', timedOut: false });
    expect(log.logLimitations.join('\n')).toContain('after its final event and was ended');
    expect(log.durationMs).toBeLessThan(60_000);
  });

  for (const h of HARNESSES) {
    it(`${h.harness}: a CLI that hangs is killed at the timeout, with everything it started`, async () => {
      const rig = await makeRig({ ...benchmark(), 'bench.config.mjs': config(hanging.url) });
      const args = ['--harness', h.harness, '--model', h.model, '--attempts', '1', '--timeout', '6s'];
      const running = rig.spawnCli(['run', ...args], env);
      let out = '';
      running.child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
      });
      await waitFor(() => /workspace (\S+)/.test(out), 30_000, 'the attempt to start');
      const workspace = /workspace (\S+)/.exec(out)![1]!;
      // While it hangs, the CLI (and, for codex, the native binary its launcher started) is there.
      await waitFor(() => processesIn(workspace).length > 0, 10_000, 'the CLI in its workspace');
      const r = await running.done;
      expect(r.code).toBe(1);
      const log = await runLog(rig, `${h.id}-attempt-1`);
      expect(log).toMatchObject({ outcome: 'timed-out', timedOut: true });
      // Killed at the timeout with its whole process group: nothing is left working there.
      expect(processesIn(workspace)).toEqual([]);
    });
  }
});

const docker = (...args: string[]) => execFileSync('docker', args, { encoding: 'utf8' }).trim();
const engineUp = (() => {
  try {
    docker('image', 'inspect', 'bench-pipeline-test/node:1');
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!installed || !engineUp)('claude-code in docker mode', () => {
  it('runs in the harness image, built here from what the npm packages ship', async () => {
    const harness = 'bench-pipeline-test/claude-harness:1';
    const image = 'bench-pipeline-test/claude:1';
    // Containers reach the fake API on their gateway (the host's bridge address), not on loopback.
    const route = docker('run', '--rm', 'bench-pipeline-test/busybox:1', 'ip', 'route');
    const bridge = /default via (\S+)/.exec(route)?.[1];
    if (!bridge) throw new Error(`no default route in a container: ${route}`);
    const server = await startModelServer({ host: bridge });
    const rig = await makeRig({
      ...benchmarkFiles('b', { allowed_harnesses: '[claude-code]', image }),
      'bench.config.mjs': `export default { harnesses: { 'claude-code': { baseUrl: '${server.url}' } } };\n`,
    });
    const context = await mkdtemp(join(tmpdir(), 'bp-claude-'));
    try {
      const build = [
        'images',
        'build',
        '--base',
        'bench-pipeline-test/node:1',
        '--clis',
        '',
        '--tag',
        harness,
      ];
      const built = await rig.cli(build);
      expect(built.code, built.stdout + built.stderr).toBe(0);
      // The installed npm packages, as they are, into the image's runtime directory.
      const modules = join(CLIS, '..');
      await cp(join(modules, '@anthropic-ai'), join(context, 'node_modules/@anthropic-ai'), {
        recursive: true,
      });
      writeFileSync(
        join(context, 'Dockerfile'),
        `FROM ${harness}\nCOPY node_modules/ /opt/bench-pipeline/node_modules/\n` +
          'RUN ln -s ../node_modules/@anthropic-ai/claude-code/bin/claude.exe /opt/bench-pipeline/bin/claude\n',
      );
      docker('build', '-q', '-t', image, context);

      const r = await rig.cli(
        ['run', '--harness', 'claude-code', '--model', 'claude-sonnet-4-5', '--attempts', '1'],
        KEYS,
      );
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const dir = 'claude-code-claude-sonnet-4-5-attempt-1';
      expect(await rig.read(`benchmarks/b/eval-attempts/${dir}/${HELLO_FILE}`)).toBe(
        helloContent('claude-code'),
      );
      const log = await runLog(rig, dir);
      expect(log).toMatchObject({ mode: 'docker', outcome: 'succeeded', isolationDeviations: [] });
      expect(log.summary).toMatchObject({
        status: 'success',
        toolCalls: 1,
        inputTokens: 2000,
        outputTokens: 100,
      });
      expect(server.requests.some((q) => q.apiKey === TOKEN)).toBe(true);
      const files = await allFiles(join(rig.dir, 'benchmarks'));
      expect(files.filter((f) => f.content.includes(TOKEN)).map((f) => f.path)).toEqual([]);
    } finally {
      await Promise.all([server.close(), rm(context, { recursive: true, force: true })]);
      for (const i of [image, harness]) spawnSync('docker', ['image', 'rm', '-f', i]);
    }
  });
});
