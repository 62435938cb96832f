/**
 * The model gateway end to end: `bench-pipeline run` with the real claude, codex and opencode
 * CLIs against a fake model API that can be switched to fail. No unhealed fault leaves an attempt
 * directory; a refused key ends a batch at once; transient faults heal into results; the real key
 * is in no harness environment; usage is what the fake served.
 */
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CACHE_USAGE,
  ENV_FILE,
  HELLO_FILE,
  helloContent,
  type ModelServer,
  readEnvDump,
  startModelServer,
} from './fakes/model-server.js';
import { CLIS, clisInstalled, HARNESSES } from './helpers/clis.js';
import { allFiles, benchmarkFiles, makeRig, type Rig, TOKEN } from './helpers/rig.js';

const TOKEN_2 = 'sk-test-second-account-5a4b3c2d1e';
const KEYS = { ANTHROPIC_API_KEY: TOKEN, OPENAI_API_KEY: TOKEN, OPENROUTER_API_KEY: TOKEN };
// No other secret in the environment: the rig's TEST_TOKEN is the fixture harness's, not in these configs.
const env = { ...KEYS, PATH: `${CLIS}:${process.env.PATH}`, TEST_TOKEN: undefined };

type Harness = (typeof HARNESSES)[number];
const CLAUDE = HARNESSES[0];

/** bench.config.mjs: each built-in harness's upstream is the fake (through the gateway), plus `extra`. */
const config = (url: string, extra = '', claude = '') => `export default {
  harnesses: {
${HARNESSES.map((h) => `    '${h.harness}': { baseUrl: '${url}${h.v1 ? '/v1' : ''}'${h.harness === 'claude-code' ? claude : ''} },`).join('\n')}
  },
  ${extra}
};
`;

const project = (url: string, extra = '', claude = '') =>
  makeRig({
    ...benchmarkFiles('b', { allowed_harnesses: '[claude-code, codex, opencode]' }),
    'bench.config.mjs': config(url, extra, claude),
  });

const args = (h: Harness, n: number, ...more: string[]) => [
  'run',
  '--harness',
  h.harness,
  '--model',
  h.model,
  '--attempts',
  String(n),
  ...more,
];

const attempts = async (rig: Rig) =>
  rig.exists('benchmarks/b/eval-attempts')
    ? (await rig.ls('benchmarks/b/eval-attempts')).filter((d) => !d.startsWith('.'))
    : [];

const runLog = async (rig: Rig, dir: string) =>
  JSON.parse(await rig.read(`benchmarks/b/eval-attempts/${dir}/run-log.json`));

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

describe.skipIf(!clisInstalled)('the model gateway with the real CLIs', () => {
  let server: ModelServer;

  beforeAll(async () => {
    server = await startModelServer({ dumpEnv: true, cacheTokens: true });
  });
  afterAll(async () => {
    await server?.close();
  });
  beforeEach(() => {
    server.setFault(undefined);
    server.setRefuseKeys([]);
    server.requests.length = 0;
  });

  for (const h of HARNESSES) {
    it(`${h.harness}: the real key is in no harness environment, and usage is what the API served`, async () => {
      const rig = await project(server.url);
      const r = await rig.cli(args(h, 1), env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const dir = `${h.id}-attempt-1`;
      expect(await rig.read(`benchmarks/b/eval-attempts/${dir}/${HELLO_FILE}`)).toBe(helloContent(h.harness));
      // The shell the agent ran had a capability where the key was, and the key nowhere.
      const dumped = readEnvDump(await rig.read(`benchmarks/b/eval-attempts/${dir}/${ENV_FILE}`));
      expect(dumped[h.key]).toMatch(/^bpgw-/);
      expect(Object.entries(dumped).filter(([, v]) => v.includes(TOKEN))).toEqual([]);
      // The API saw the real key only: the gateway swapped it in.
      const calls = server.requests.filter((q) => q.protocol === h.protocol);
      expect(calls.length).toBeGreaterThanOrEqual(2);
      expect(calls.every((q) => q.apiKey === TOKEN)).toBe(true);

      const log = await runLog(rig, dir);
      const served = calls.reduce(
        (sum, q) => ({
          input: sum.input + (q.usage?.inputTokens ?? 0),
          output: sum.output + (q.usage?.outputTokens ?? 0),
          cacheRead: sum.cacheRead + (q.usage?.cacheReadTokens ?? 0),
          cacheWrite: sum.cacheWrite + (q.usage?.cacheWriteTokens ?? 0),
        }),
        { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 },
      );
      // OpenAI's input_tokens include the cached ones; the gateway counts uncached input apart.
      const uncached = h.protocol === 'anthropic-messages' ? served.input : served.input - served.cacheRead;
      expect(log.gateway).toMatchObject({
        used: true,
        keyEnv: h.key,
        requests: calls.length,
        retries: 0,
        faults: 0,
        inputTokens: uncached,
        outputTokens: served.output,
        cacheReadTokens: served.cacheRead,
        cacheWriteTokens: served.cacheWrite,
      });
      expect(served.cacheRead).toBe(calls.filter((q) => q.usage).length * CACHE_USAGE.cacheReadTokens);
      expect(log.gateway.modelWaitMs).toBeGreaterThan(0);
      expect(await rig.read(`benchmarks/b/eval-attempts/${dir}/run-log.md`)).toContain(
        '| gateway_requests |',
      );
      const status = await rig.cli(['status'], env);
      expect(status.stdout).toContain(`attempt 1: gateway: ${calls.length} requests`);
      const written = await allFiles(rig.dir);
      expect(written.filter((f) => f.content.includes(TOKEN)).map((f) => f.path)).toEqual([]);
    });

    it(`${h.harness}: a refused key ends a 3-attempt batch under the 30-minute timeout in seconds, with one clear line`, async () => {
      const rig = await project(server.url);
      server.setFault({ status: 401 });
      const started = Date.now();
      const r = await rig.cli(args(h, 3), env);
      const took = Date.now() - started;
      expect(r.code, r.stdout + r.stderr).toBe(1);
      expect(took).toBeLessThan(60_000);
      expect(await attempts(rig)).toEqual([]);
      const line = `${h.harness}: the model API refused ${h.key} (401 `;
      expect(r.stdout).toContain(line);
      expect(r.stdout).toContain(`3 attempts (`);
      expect(r.stdout + r.stderr).not.toContain(TOKEN);
      // One model call reached the API: the other attempts never started on the refused key.
      expect(server.requests.filter((q) => q.protocol === h.protocol).length).toBeLessThanOrEqual(2);
    });

    it(`${h.harness}: an overloaded API (529 twice) heals into a succeeded attempt, its files collected`, async () => {
      const rig = await project(server.url);
      server.setFault({ status: 529, times: 2 });
      const r = await rig.cli(args(h, 1), env);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      const dir = `${h.id}-attempt-1`;
      expect(await rig.read(`benchmarks/b/eval-attempts/${dir}/${HELLO_FILE}`)).toBe(helloContent(h.harness));
      const log = await runLog(rig, dir);
      expect(log).toMatchObject({ outcome: 'succeeded', gateway: { retries: 2, faults: 2 } });
    });
  }

  it('claude-code: 403 is a refused key too', async () => {
    const rig = await project(server.url);
    server.setFault({ status: 403 });
    const r = await rig.cli(args(CLAUDE, 1), env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('the model API refused ANTHROPIC_API_KEY (403 permission_error');
    expect(await attempts(rig)).toEqual([]);
  });

  it('claude-code: 429 with retry-after and 500s heal; the wait is the one the API asked for', async () => {
    const rig = await project(server.url);
    server.setFault({ status: 429, retryAfter: 2, times: 1 });
    const r = await rig.cli(args(CLAUDE, 1), env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const calls = server.requests.filter((q) => q.protocol === CLAUDE.protocol);
    const faulted = calls.findIndex((q) => q.answer === 'fault-429');
    expect(calls[faulted + 1]!.at - calls[faulted]!.at).toBeGreaterThanOrEqual(1_900);
    expect((await runLog(rig, `${CLAUDE.id}-attempt-1`)).gateway).toMatchObject({ retries: 1 });

    server.setFault({ status: 500, times: 3 });
    const again = await rig.cli(args(CLAUDE, 2), env);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(await runLog(rig, `${CLAUDE.id}-attempt-2`)).toMatchObject({
      outcome: 'succeeded',
      gateway: { retries: 3 },
    });
  });

  it('claude-code: a permanent outage leaves the attempt missing with exit 1, retried first; the next run completes it', async () => {
    const rig = await project(server.url, `gateway: { retryWindow: '2s' }, retries: 1,`);
    server.setFault({ status: 529 });
    const r = await rig.cli(args(CLAUDE, 1), env);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(await attempts(rig)).toEqual([]);
    expect(r.stdout).toMatch(/retry .*did not recover within the retry window \(529 overloaded_error/);
    expect(r.stdout).toContain('not completed');
    const journal = await rig.read('benchmarks/b/.pipeline/journal.ndjson');
    expect(journal).toContain('"kind":"outage"');
    const plan = await rig.cli(
      ['plan', '--harness', 'claude-code', '--model', CLAUDE.model, '--attempts', '1'],
      env,
    );
    expect(plan.stdout).toContain('last error');
    expect(plan.stdout).toContain('did not recover within the retry window');

    server.setFault(undefined);
    const next = await rig.cli(args(CLAUDE, 1), env);
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(await attempts(rig)).toEqual([`${CLAUDE.id}-attempt-1`]);
  });

  it('claude-code: a refused connection is an outage too', async () => {
    const port = await closedPort();
    const rig = await project(`http://127.0.0.1:${port}`, `gateway: { retryWindow: '2s' }, retries: 0,`);
    const r = await rig.cli(args(CLAUDE, 1), env);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(
      `the model API at http://127.0.0.1:${port} did not recover within the retry window (ECONNREFUSED`,
    );
    expect(await attempts(rig)).toEqual([]);
  });

  it('claude-code: a stream cut mid-response is an infrastructure error; the retry completes the attempt', async () => {
    const rig = await project(server.url, 'retries: 1,');
    server.setFault({ cut: true, times: 1 });
    const r = await rig.cli(args(CLAUDE, 1), env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/retry .*cut a response mid-stream/);
    const log = await runLog(rig, `${CLAUDE.id}-attempt-1`);
    expect(log.outcome).toBe('succeeded');
    expect(await rig.read('benchmarks/b/.pipeline/journal.ndjson')).toContain('"kind":"stream-cut"');
  });

  it('claude-code: two keys share a batch; the refused one drops out and the other completes it', async () => {
    const rig = await project(
      server.url,
      'concurrency: 2,',
      `, tokenEnv: ['ANTHROPIC_API_KEY', 'ANTHROPIC_API_KEY_2'], keyConcurrency: 1`,
    );
    server.setRefuseKeys([TOKEN]);
    const r = await rig.cli(args(CLAUDE, 3), { ...env, ANTHROPIC_API_KEY_2: TOKEN_2 });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('the model API refused ANTHROPIC_API_KEY (401 authentication_error');
    expect(r.stdout).toContain('going on with ANTHROPIC_API_KEY_2');
    const dirs = await attempts(rig);
    expect(dirs).toHaveLength(3);
    for (const d of dirs) expect((await runLog(rig, d)).gateway.keyEnv).toBe('ANTHROPIC_API_KEY_2');
    const written = await allFiles(rig.dir);
    expect(written.filter((f) => f.content.includes(TOKEN_2)).map((f) => f.path)).toEqual([]);
  });

  it('claude-code: --max-cost stops the batch; attempts cut by it are missing, not results', async () => {
    // Per call 100 in + 50 out + 800 cache-read + 100 cache-write tokens: $0.24 at these prices, so
    // an attempt (two calls) costs about $0.48: the second attempt crosses $0.60 and is cut.
    const prices = `prices: { 'claude-sonnet-4-5': { input: 1000, output: 1000, cacheRead: 100, cacheWrite: 100 } }, concurrency: 1,`;
    const rig = await project(server.url, prices);
    const r = await rig.cli(args(CLAUDE, 3, '--max-cost', '0.6'), env);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    const dirs = await attempts(rig);
    expect(dirs.length).toBeLessThan(3);
    expect(r.stdout).toContain('budget (--max-cost) is spent');
    expect(r.stdout).toMatch(/model API spend \(measured by the gateway\): \$\d/);
    for (const d of dirs) expect((await runLog(rig, d)).outcome).toBe('succeeded');
    const plan = await rig.cli(
      ['plan', '--harness', 'claude-code', '--model', CLAUDE.model, '--attempts', '3'],
      env,
    );
    expect(plan.stdout).toMatch(/expected spend: \$\d/);
  });

  it('gateway: false keeps the direct way, and run-log says so', async () => {
    const rig = await project(server.url, '', ', gateway: false');
    const r = await rig.cli(args(CLAUDE, 1), env);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const dir = `${CLAUDE.id}-attempt-1`;
    expect((await runLog(rig, dir)).gateway).toMatchObject({ used: false });
    const dumped = readEnvDump(await rig.read(`benchmarks/b/eval-attempts/${dir}/${ENV_FILE}`));
    expect(dumped.ANTHROPIC_API_KEY).toBe(TOKEN);
    expect(existsSync(rig.dir)).toBe(true);
  });
});
