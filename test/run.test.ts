import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allFiles, benchmarkFiles, CLI, isRunning, makeRig, TOKEN } from './helpers/rig.js';

const attempts = async (rig: Awaited<ReturnType<typeof makeRig>>, slug = 'b') =>
  (await rig.ls(`benchmarks/${slug}/eval-attempts`)).filter((n) => !n.startsWith('.'));

const runLog = async (rig: Awaited<ReturnType<typeof makeRig>>, name: string) =>
  JSON.parse(await rig.read(`benchmarks/b/eval-attempts/${name}/run-log.json`));

describe('run, lite mode', () => {
  it('completes the set, then a rerun of the complete set invokes no harness', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const first = await rig.cli(['run', '--harness', 't']);
    expect(first.code, first.stderr).toBe(0);
    expect(await rig.invocations()).toBe(3);
    expect(await attempts(rig)).toEqual([
      't-default-attempt-1',
      't-default-attempt-2',
      't-default-attempt-3',
    ]);
    expect(first.stdout).toContain('3 completed (3 succeeded, 0 failed, 0 timed out), 0 already done');

    const again = await rig.cli(['run', '--harness', 't']);
    expect(again.code, again.stderr).toBe(0);
    expect(await rig.invocations()).toBe(3);
    expect(again.stdout).toContain('0 completed (0 succeeded, 0 failed, 0 timed out), 3 already done');
  });

  it('raising attempts from 3 to 5 runs exactly 2', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    expect((await rig.cli(['run', '--harness', 't', '--attempts', '3'])).code).toBe(0);
    const more = await rig.cli(['run', '--harness', 't', '--attempts', '5']);
    expect(more.code, more.stderr).toBe(0);
    expect(await rig.invocations()).toBe(5);
    expect(await attempts(rig)).toHaveLength(5);
    expect(more.stdout).toContain('2 completed');
  });

  it('--more adds attempts at the next free index', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    await rig.cli(['run', '--harness', 't', '--attempts', '2']);
    const r = await rig.cli(['run', '--harness', 't', '--more', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(await attempts(rig)).toEqual([
      't-default-attempt-1',
      't-default-attempt-2',
      't-default-attempt-3',
      't-default-attempt-4',
    ]);
  });

  it('writes an attempt with the workspace, agent-run.log and both run-logs; never the scorecard', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1', '--model', 'm1', '--run-id', 'r-1']);
    expect(r.code, r.stderr).toBe(0);
    const dir = 'benchmarks/b/eval-attempts/t-m1-attempt-1';
    expect(await rig.ls(dir)).toEqual([
      'agent-run.log',
      'context.md',
      'out.txt',
      'prompt.md',
      'run-log.json',
      'run-log.md',
    ]);
    const out = await rig.read(`${dir}/out.txt`);
    expect(out).toContain('model: m1');
    // The configured env reaches the harness.
    expect(out).toContain('extra: from-config');
    const log = await runLog(rig, 't-m1-attempt-1');
    expect(log).toMatchObject({
      benchmark: { name: 'b', displayName: 'Test b' },
      stateMode: 'greenfield',
      baselineSource: 'empty workspace',
      model: { id: 't-m1', value: 'm1', source: 'flag' },
      harness: { name: 't', cliVersion: 'fixture-harness 1.0.0' },
      mode: 'lite',
      image: null,
      imageDigest: 'not-pulled (lite mode)',
      attempt: 1,
      runId: 'r-1',
      outcome: 'succeeded',
      exitCode: 0,
      timedOut: false,
      visibleInputs: ['prompt.md', 'context.md'],
      isolationDeviations: ['lite mode, no container isolation; harness ran on host'],
    });
    expect(log.hostRuntimes.node).toBe(process.version);
    expect(log.key).toMatch(/^[0-9a-f]{64}$/);
    expect(log.preimage.params.n).toBe(1);
    const md = await rig.read(`${dir}/run-log.md`);
    for (const field of [
      'display_name',
      'baseline_source',
      'model_display_name',
      'image_digest',
      'harness_cli_version',
      'temp_workspace',
      'isolation_deviations',
      'log_limitations',
      'timed_out',
    ]) {
      expect(md).toContain(field);
    }
    const all = await allFiles(join(rig.dir, 'benchmarks/b/eval-attempts'));
    expect(all.some((f) => f.content.includes('SCORECARD-SECRET'))).toBe(false);
    // Its files were moved into the attempt; with nothing left, no workspace is kept or reported.
    expect(log.workspace).toEqual({ path: log.workspace.path, kept: false, left: 'nothing' });
    expect(existsSync(log.workspace.path)).toBe(false);
    expect(r.stdout).not.toContain('temp workspaces kept');
  });

  it("keeps the agent's files that carry the tool's own names, renamed, none overwritten", async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1'], { WRITE_RESERVED: '1' });
    expect(r.code, r.stderr).toBe(0);
    const dir = 'benchmarks/b/eval-attempts/t-default-attempt-1';
    expect(await rig.read(`${dir}/agent-run.log.workspace`)).toBe('mine: agent-run.log.workspace\n');
    expect(await rig.read(`${dir}/agent-run.log.workspace-2`)).toBe('mine: agent-run.log\n');
    expect(await rig.read(`${dir}/run-log.json.workspace`)).toBe('mine: run-log.json\n');
    expect(await rig.read(`${dir}/agent-run.log`)).toContain('step 4');
    const log = JSON.parse(await rig.read(`${dir}/run-log.json`));
    expect(log.outcome).toBe('succeeded');
    expect(log.logLimitations.join('\n')).toContain('agent-run.log -> agent-run.log.workspace-2');
  });

  it('the token reaches only the harness, and no file under the benchmark or state holds it', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '2', '--json'], {
      WRITE_TOKEN: '1',
      OTHER_TOKEN: 'x',
      OPENAI_API_KEY: 'sk-other-secret-123456',
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain(TOKEN);
    const files = await allFiles(join(rig.dir, 'benchmarks'));
    expect(files.length).toBeGreaterThan(10);
    const leaks = files.filter(
      (f) => f.content.includes(TOKEN) || f.content.includes('sk-other-secret-123456'),
    );
    expect(leaks.map((f) => f.path)).toEqual([]);
    const log = await rig.read('benchmarks/b/eval-attempts/t-default-attempt-1/agent-run.log');
    expect(log).toContain('token: ***');
    expect(log).toContain('stderr token: ***');
    expect(await rig.read('benchmarks/b/eval-attempts/t-default-attempt-1/secret.txt')).toBe('leaked ***\n');
    // Not on the command line either: the harness saw its argv.
    const out = await rig.read('benchmarks/b/eval-attempts/t-default-attempt-1/out.txt');
    expect(out).not.toContain(TOKEN);
    const runLogJson = await runLog(rig, 't-default-attempt-1');
    expect(runLogJson.logLimitations.join(' ')).toContain(
      'a token was masked in workspace files: secret.txt',
    );
    // Collected masked, so not left in the temp workspace with the token.
    expect(existsSync(join(runLogJson.workspace.path, 'secret.txt'))).toBe(false);
  });

  it('a failing attempt is a result; the batch keeps going and exits 1', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '2'], { HARNESS_EXIT: '3' });
    expect(r.code).toBe(1);
    expect(await attempts(rig)).toHaveLength(2);
    expect((await runLog(rig, 't-default-attempt-2')).outcome).toBe('failed');
    expect((await runLog(rig, 't-default-attempt-2')).exitCode).toBe(3);
    const plan = await rig.cli(['plan', '--harness', 't', '--attempts', '2']);
    expect(plan.stdout).toMatch(/t-default-attempt-1\s+failed\s+\w+\s+exit 3/);

    // --rerun failed replaces them; the old directories are moved aside, never deleted.
    const rerun = await rig.cli(['run', '--harness', 't', '--attempts', '2', '--rerun', 'failed']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect((await runLog(rig, 't-default-attempt-1')).outcome).toBe('succeeded');
    const replaced = await rig.ls('benchmarks/b/eval-attempts/.replaced');
    expect(replaced).toHaveLength(2);
    expect(replaced[0]).toMatch(/^t-default-attempt-1\./);
  });

  it('kills the whole process group at the timeout and records timed-out', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1', '--timeout', '1s'], {
      HARNESS_HANG: '1',
    });
    expect(r.code).toBe(1);
    const log = await runLog(rig, 't-default-attempt-1');
    expect(log).toMatchObject({ outcome: 'timed-out', timedOut: true, timeoutMs: 1000 });
    expect(log.logLimitations.join(' ')).toContain('killed at the timeout');
    const grandchild = Number(
      await rig.read('benchmarks/b/eval-attempts/t-default-attempt-1/grandchild.pid'),
    );
    expect(await isRunning(grandchild)).toBe(false);
    expect(r.stdout).toContain('1 timed out');
  });

  it('sees a harness that exits at once (before its marker is updated)', async () => {
    const rig = await makeRig({ ...benchmarkFiles('b', { allowed_harnesses: '\n  - quick' }) });
    await rig.write({
      'bench.config.mjs': "export default { harnesses: { quick: { command: ['true'] } } };\n",
    });
    const r = await rig.cli(['run', '--harness', 'quick', '--attempts', '20', '--concurrency', '4']);
    expect(r.code, r.stderr).toBe(0);
    expect(await attempts(rig)).toHaveLength(20);
  });

  it('a reader that goes away (| head) does not stop the batch', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const child = spawn(process.execPath, [CLI, 'run', '--harness', 't', '--attempts', '3'], {
      cwd: rig.dir,
      env: { ...process.env, TEST_TOKEN: TOKEN, COUNT_FILE: rig.countFile },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.once('data', () => child.stdout.destroy());
    const code = await new Promise((resolve) => child.once('close', resolve));
    expect(code).toBe(0);
    expect(await rig.ls('benchmarks/b/eval-attempts')).toHaveLength(3);
  });

  it('--clean removes the temp workspace after collecting', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '1', '--clean']);
    expect(r.code, r.stderr).toBe(0);
    const log = await runLog(rig, 't-default-attempt-1');
    expect(log.workspace.kept).toBe(false);
    await expect(readFile(join(log.workspace.path, 'out.txt'))).rejects.toThrow();
  });
});

describe('seeding', () => {
  it('brownfield: the baseline becomes the workspace root, once per content hash', async () => {
    const rig = await makeRig({
      ...benchmarkFiles('b', {
        state_mode: 'brownfield',
        model_visible_files: '\n  - prompt.md\n  - baseline',
      }),
      'benchmarks/b/baseline/src/app.js': 'console.log(1)\n',
      'benchmarks/b/baseline/README.md': '# app\n',
      'benchmarks/b/baseline-manifest.md': 'baseline: baseline/\n',
    });
    const r = await rig.cli(['run', '--harness', 't', '--attempts', '2']);
    expect(r.code, r.stderr).toBe(0);
    expect(await rig.ls('benchmarks/b/eval-attempts/t-default-attempt-1')).toEqual([
      'README.md',
      'agent-run.log',
      'out.txt',
      'prompt.md',
      'run-log.json',
      'run-log.md',
      'src',
    ]);
    expect((await runLog(rig, 't-default-attempt-1')).baselineSource).toMatch(/baseline\/ \(2 files\)$/);
    expect((await rig.ls('benchmarks/b/.pipeline/seeds')).filter((n) => !n.startsWith('.'))).toHaveLength(1);
  });

  it('a changed prompt.md makes existing attempts stale in plan, and --rerun stale replaces them', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    await rig.cli(['run', '--harness', 't', '--attempts', '2']);
    const clean = await rig.cli(['plan', '--harness', 't', '--attempts', '2', '--json']);
    const before = JSON.parse(clean.stdout).nodes.filter((n: { task: string }) => n.task === 'run-harness');
    expect(before.map((n: { state: string }) => n.state)).toEqual(['done', 'done']);

    await rig.write({ 'benchmarks/b/prompt.md': '# b\nWrite out.txt, and more.\n' });
    const plan = await rig.cli(['plan', '--harness', 't', '--attempts', '2']);
    expect(plan.code).toBe(0);
    expect(plan.stdout).toMatch(/t-default-attempt-1\s+stale\s+\w+\s+visible files changed: prompt\.md/);
    expect(plan.stdout).toMatch(/seed-workspace\s+missing/);
    const status = await rig.cli(['status']);
    expect(status.stdout).toContain('2 complete (2 succeeded, 0 failed, 0 timed out, 2 stale)');

    // Stale attempts are kept until asked.
    await rig.cli(['run', '--harness', 't', '--attempts', '2']);
    expect(await rig.invocations()).toBe(2);
    const rerun = await rig.cli(['run', '--harness', 't', '--attempts', '2', '--rerun', 'stale']);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(await rig.invocations()).toBe(4);
    expect(await rig.ls('benchmarks/b/eval-attempts/.replaced')).toHaveLength(2);
  });

  it('rerun repeats an attempt as a new one with its model and timeout, and refuses changed inputs', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    await rig.cli(['run', '--harness', 't', '--attempts', '1', '--model', 'm1', '--timeout', '45s']);
    const first = 'benchmarks/b/eval-attempts/t-m1-attempt-1';
    const r = await rig.cli(['rerun', first]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const log = JSON.parse(await rig.read('benchmarks/b/eval-attempts/t-m1-attempt-2/run-log.json'));
    expect(log).toMatchObject({ model: { value: 'm1', source: 'flag' }, timeoutMs: 45_000, attempt: 2 });
    expect(await rig.invocations()).toBe(2);

    await rig.write({ 'benchmarks/b/context.md': 'Other context.\n' });
    const refused = await rig.cli(['rerun', first]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('its inputs changed since it ran (visible files changed: context.md)');
    expect(refused.stderr).toContain('--allow-changed-inputs');
    expect(await rig.invocations()).toBe(2);
    const allowed = await rig.cli(['rerun', first, '--allow-changed-inputs']);
    expect(allowed.code, allowed.stderr).toBe(0);
    expect(await rig.ls('benchmarks/b/eval-attempts')).toContain('t-m1-attempt-3');

    const notAnAttempt = await rig.cli(['rerun', 'benchmarks/b']);
    expect(notAnAttempt.code).toBe(2);
    expect(notAnAttempt.stderr).toContain('benchmarks/b/run-log.json: not a readable attempt record');
  });

  it('the attempt index is only a cache: a changed run-log.json is read again, a corrupt index ignored', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    await rig.cli(['run', '--harness', 't', '--attempts', '2']);
    expect(rig.exists('benchmarks/b/.pipeline/attempt-index.json')).toBe(true);
    const path = 'benchmarks/b/eval-attempts/t-default-attempt-2/run-log.json';
    const log = JSON.parse(await rig.read(path));
    await rig.write({
      [path]: JSON.stringify({ ...log, key: 'f'.repeat(64), outcome: 'failed', exitCode: 9 }),
    });
    const plan = await rig.cli(['plan', '--harness', 't', '--attempts', '2']);
    expect(plan.stdout).toMatch(/t-default-attempt-1\s+done/);
    expect(plan.stdout).toMatch(/t-default-attempt-2\s+stale/);
    await rig.write({ 'benchmarks/b/.pipeline/attempt-index.json': '{"t-default-attempt-1": ' });
    const again = await rig.cli(['plan', '--harness', 't', '--attempts', '2']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/t-default-attempt-1\s+done/);
  });

  it('plan has no side effects', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const before = (await allFiles(rig.dir)).map((f) => f.path).sort();
    const r = await rig.cli(['plan', '--harness', 't']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('run would execute 3');
    const after = (await allFiles(rig.dir))
      .map((f) => f.path)
      .filter((p) => !p.includes('/.cache/'))
      .sort();
    expect(after).toEqual(before);
  });
});

describe('graph, status and cache', () => {
  it('graph renders mermaid, dot and json with shared upstream nodes', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    const json = JSON.parse((await rig.cli(['graph', '--harness', 't', '--format', 'json'])).stdout);
    expect(json.nodes).toHaveLength(3 + 3 * 3);
    const seedEdges = json.edges.filter(([from]: [string]) => from === 'b/seed-workspace');
    expect(seedEdges).toHaveLength(3);
    expect((await rig.cli(['graph', '--harness', 't'])).stdout).toMatch(/^graph LR/);
    expect((await rig.cli(['graph', '--harness', 't', '--format', 'dot'])).stdout).toMatch(
      /^digraph pipeline/,
    );
  });

  it('cache ls and prune keep what attempts and current inputs use', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    await rig.cli(['run', '--harness', 't', '--attempts', '1']);
    await rig.write({ 'benchmarks/b/context.md': 'new context\n' });
    await rig.cli(['run', '--harness', 't', '--attempts', '1', '--rerun', 'stale']);
    const ls = await rig.cli(['cache', 'ls', '--json']);
    const seeds = JSON.parse(ls.stdout).entries.filter((e: { kind: string }) => e.kind === 'seed');
    expect(seeds).toHaveLength(2);
    expect(seeds.filter((s: { inUse: boolean }) => s.inUse)).toHaveLength(1);
    const prune = await rig.cli(['cache', 'prune']);
    expect(prune.code).toBe(0);
    // The old template and its record, and the replaced attempt's collect and write-run-log records.
    expect(prune.stdout).toMatch(/removed 4 entries/);
    const after = JSON.parse((await rig.cli(['cache', 'ls', '--json'])).stdout).entries;
    expect(after.every((e: { inUse: boolean }) => e.inUse)).toBe(true);
    // The kept template still seeds new attempts.
    expect((await rig.cli(['run', '--harness', 't', '--attempts', '2'])).code).toBe(0);
  });
});
