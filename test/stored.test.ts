import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { z } from 'zod';
import { AttemptRecords, INDEX_FORMAT } from '../pipeline/attempt-records.js';
import { preparedSchema } from '../pipeline/commands/manual.js';
import { statCacheSchema } from '../pipeline/inventory-hash.js';
import { nodeKey } from '../pipeline/keys.js';
import { lockSchema, readLock, writeLock } from '../pipeline/lock.js';
import { claimMarker, markerSchema, ownMarker, readMarker, updateMarker } from '../pipeline/markers.js';
import { versionsSchema } from '../pipeline/probe.js';
import { type RunLog, readRunLog, runLogSchema } from '../pipeline/run-log.js';
import { NodeStore, nodeRecordSchema, statePaths } from '../pipeline/state.js';
import { readSealed, readStored, sealed } from '../pipeline/stored.js';
import { entriesSchema, loadSeed } from '../tasks/seed-workspace.js';
import { benchmarkFiles, makeRig } from './helpers/rig.js';

/** A temp dir, removed after the test (kept with KEEP_TEST_DIRS). */
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'bp-stored-'));
  if (!process.env.KEEP_TEST_DIRS) onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function put(path: string, content: string): Promise<string> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, content);
  return path;
}

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** `value` without some of its fields, as a file written before they existed has it. */
function without<T extends object>(value: T, ...fields: string[]): Record<string, unknown> {
  const copy = { ...value } as Record<string, unknown>;
  for (const f of fields) delete copy[f];
  return copy;
}

/** `value` with the field at `path` set to `to` (or removed, with `undefined`). */
function edited(value: unknown, path: readonly (string | number)[], to: unknown): unknown {
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let at = copy;
  for (const k of path.slice(0, -1)) at = at[k] as Record<string | number, unknown>;
  if (to === undefined) delete at[path.at(-1)!];
  else at[path.at(-1)!] = to;
  return copy;
}

const attemptKey = nodeKey(
  { name: 'run-harness', version: 1 },
  { model: 'm1', n: 1 },
  { seed: 'a'.repeat(64) },
);

/** A lite attempt's run-log as the tool writes it today. */
const liteLog: RunLog = {
  format: 1,
  benchmark: { name: 'b', displayName: 'Test b' },
  stateMode: 'greenfield',
  baselineSource: 'none (greenfield)',
  model: { id: 't-m1', displayName: 't / m1', value: 'm1', source: 'flag' },
  harness: { name: 't', displayName: 't', cliVersion: 'fixture 1.0', argv: ['node', 'harness.mjs', '***'] },
  variant: null,
  mode: 'lite',
  image: null,
  imageDigest: 'not-pulled (lite mode)',
  engine: null,
  runtime: null,
  hostRuntimes: { node: 'v20.12.0' },
  attempt: 1,
  runId: '20250101-000000-abcd',
  workspace: { path: '/tmp/bench-pipeline/ws', kept: true },
  startedAt: '2025-01-01T00:00:00.000Z',
  endedAt: '2025-01-01T00:00:01.500Z',
  durationMs: 1500,
  outcome: 'succeeded',
  exitCode: 0,
  signal: null,
  timedOut: false,
  timeoutMs: 1_800_000,
  visibleInputs: ['prompt.md', 'context.md'],
  isolationDeviations: ['lite mode: the harness runs on the host'],
  isolationBreaches: [],
  logLimitations: [],
  summary: {
    turns: 2,
    toolCalls: 1,
    inputTokens: 2000,
    outputTokens: 100,
    costUsd: 0.0075,
    status: 'success',
  },
  gateway: { used: false, why: 'a custom harness without `gateway`' },
  key: attemptKey.key,
  preimage: attemptKey.preimage,
};

/** A docker attempt through the gateway. */
const dockerLog: RunLog = {
  ...liteLog,
  mode: 'docker',
  image: 'example/b:1',
  imageDigest: `example/b@sha256:${'b'.repeat(64)}`,
  engine: 'Docker 28.2.2 (API 1.50), linux/amd64',
  runtime: `example/runtime@sha256:${'c'.repeat(64)}`,
  outcome: 'timed-out',
  exitCode: null,
  signal: 'SIGKILL',
  timedOut: true,
  gateway: {
    used: true,
    upstream: 'https://api.anthropic.com',
    keyEnv: 'ANTHROPIC_API_KEY',
    requests: 3,
    retries: 1,
    faults: 1,
    inputTokens: 2000,
    outputTokens: 100,
    cacheReadTokens: 0,
    cacheWriteTokens: 0,
    modelWaitMs: 1200,
    costUsd: null,
    costSources: [],
    unpriced: ['claude-x'],
    models: ['claude-x'],
  },
};
delete dockerLog.isolationBreaches;

/** What `collect` writes for a manual harness: no gateway, no summary, no runtimes. */
const manualLog = {
  ...without(liteLog, 'gateway', 'isolationBreaches'),
  harness: { name: 'cursor', displayName: 'cursor', cliVersion: 'manual', argv: [] },
  hostRuntimes: {},
  exitCode: null,
  timeoutMs: 0,
  summary: null,
};

/** The run-logs of earlier versions: each field added since is absent (see git log of run-log.ts). */
const historicLogs: [string, Record<string, unknown>][] = [
  ['the first', without(liteLog, 'engine', 'runtime', 'summary', 'isolationBreaches', 'gateway')],
  ['docker mode (engine)', without(liteLog, 'runtime', 'summary', 'isolationBreaches', 'gateway')],
  ['runtime mounts (runtime)', without(liteLog, 'summary', 'isolationBreaches', 'gateway')],
  ['transcripts (summary)', without(liteLog, 'isolationBreaches', 'gateway')],
  ['isolation breaches', without(liteLog, 'gateway')],
];

interface Kind {
  kind: string;
  file: string;
  schema: z.ZodType;
  /** A valid value, written as the tool writes it. */
  valid: unknown;
  /** A field set to a value of the wrong type: [path, value, the field as a reason names it]. */
  wrongType: [(string | number)[], unknown, string];
  /** A field left out: [path, the field as a reason names it]. */
  missing: [(string | number)[], string];
}

const kinds: Kind[] = [
  {
    kind: 'run-log',
    file: 'eval-attempts/t-m1-attempt-1/run-log.json',
    schema: runLogSchema,
    valid: liteLog,
    wrongType: [['attempt'], 'one', 'attempt'],
    missing: [['model', 'source'], 'model.source'],
  },
  {
    kind: 'node record',
    file: '.pipeline/nodes/seed-workspace/k.json',
    schema: nodeRecordSchema,
    valid: { task: 'seed-workspace', key: 'k', preimage: attemptKey.preimage, output: {}, at: 'now' },
    wrongType: [['preimage', 'version'], '1', 'preimage.version'],
    missing: [['key'], 'key'],
  },
  {
    kind: 'image lock',
    file: 'runner.lock.yaml',
    schema: lockSchema,
    valid: { ref: 'example/b:1', digest: `example/b@sha256:${'d'.repeat(64)}`, resolved_at: 'now' },
    wrongType: [['digest'], 12, 'digest'],
    missing: [['ref'], 'ref'],
  },
  {
    kind: 'seed entries',
    file: '.pipeline/seeds/k/entries.json',
    schema: entriesSchema,
    valid: [
      { type: 'dir', path: 'src' },
      { type: 'file', path: 'src/a.ts' },
    ],
    wrongType: [[1, 'path'], 3, '[1].path'],
    missing: [[1, 'path'], '[1].path'],
  },
  {
    kind: 'running marker',
    file: '.pipeline/running/t-m1-attempt-1.json',
    schema: markerSchema,
    valid: { pid: 4242, host: 'h', runId: 'r', attempt: 't-m1-attempt-1', startedAt: 'now', childPid: 4343 },
    wrongType: [['childPid'], 'x', 'childPid'],
    missing: [['host'], 'host'],
  },
  {
    kind: 'manual workspace record',
    file: 'ws.bench-pipeline.json',
    schema: preparedSchema,
    valid: {
      benchmarkDir: '/p/benchmarks/b',
      harness: 'cursor',
      model: 'gpt-5',
      seedKey: 'a'.repeat(64),
      visibleInputs: ['prompt.md'],
      baselineSource: 'none (greenfield)',
      preparedAt: '2025-01-01T00:00:00.000Z',
    },
    wrongType: [['visibleInputs'], 'prompt.md', 'visibleInputs'],
    missing: [['seedKey'], 'seedKey'],
  },
  {
    kind: 'stat cache',
    file: '.pipeline/stat-cache.json',
    schema: statCacheSchema,
    valid: { '/p/b/prompt.md': { size: 1, mtimeMs: 2, ino: 3, hash: 'ab' } },
    wrongType: [['/p/b/prompt.md', 'size'], null, '/p/b/prompt.md.size'],
    missing: [['/p/b/prompt.md', 'hash'], '/p/b/prompt.md.hash'],
  },
  {
    kind: 'version cache',
    file: 'versions.json',
    schema: versionsSchema,
    valid: { '["node","--version"]': { fingerprint: 'f', output: 'v20.12.0' } },
    wrongType: [['["node","--version"]', 'output'], 20, '["node","--version"].output'],
    missing: [['["node","--version"]', 'fingerprint'], '["node","--version"].fingerprint'],
  },
];

/** The content of a file of `kind` holding `value`, in its format. */
const render = (kind: Kind, value: unknown) =>
  kind.file.endsWith('.yaml') ? `# header\n${yamlOf(value)}` : json(value);

/** Enough YAML for a flat mapping (a JSON value is YAML too, for the rest). */
function yamlOf(value: unknown): string {
  return Object.entries(value as Record<string, unknown>)
    .map(([k, v]) => `${k}: ${JSON.stringify(v)}`)
    .join('\n');
}

describe('stored files: each kind', () => {
  describe.each(kinds)('$kind', (kind) => {
    it('a valid one parses', async () => {
      const path = await put(join(await tempDir(), kind.file), render(kind, kind.valid));
      const read = await readStored(path, kind.schema);
      expect(read).toEqual({ ok: true, value: kind.valid });
    });

    it('a field of the wrong type is a miss naming the file and the field', async () => {
      const [field, value, named] = kind.wrongType;
      const path = await put(
        join(await tempDir(), kind.file),
        render(kind, edited(kind.valid, field, value)),
      );
      const read = await readStored(path, kind.schema);
      expect(read).toMatchObject({ ok: false, reason: 'schema' });
      if (read.ok) return;
      expect(read.why).toContain(`${path}: ${named}: `);
      expect(read.why).toMatch(/expected/);
    });

    it('a missing field is a miss naming the file and the field', async () => {
      const [field, named] = kind.missing;
      const path = await put(
        join(await tempDir(), kind.file),
        render(kind, edited(kind.valid, field, undefined)),
      );
      const read = await readStored(path, kind.schema);
      expect(read).toMatchObject({ ok: false, reason: 'schema' });
      if (!read.ok) expect(read.why).toContain(`${path}: ${named}: `);
    });

    it('a file cut short is a miss naming the file', async () => {
      const whole = render(kind, kind.valid);
      const path = await put(join(await tempDir(), kind.file), whole.slice(0, Math.floor(whole.length / 2)));
      const read = await readStored(path, kind.schema);
      expect(read.ok).toBe(false);
      if (read.ok) return;
      expect(read.why.startsWith(`${path}: `)).toBe(true);
      // JSON cut anywhere is not JSON; YAML cut short may still parse, and then misses a field.
      if (kind.file.endsWith('.json')) expect(read).toMatchObject({ reason: 'syntax' });
      if (kind.file.endsWith('.json')) expect(read.problem).toMatch(/^not JSON \(.+\)$/);
    });

    it('a directory in its place is a miss, not a crash', async () => {
      const path = join(await tempDir(), kind.file);
      await mkdir(path, { recursive: true });
      const read = await readStored(path, kind.schema);
      expect(read).toEqual({
        ok: false,
        reason: 'unreadable',
        problem: 'a directory, not a file',
        why: `${path}: a directory, not a file`,
      });
    });

    it('no file is an absent miss', async () => {
      const path = join(await tempDir(), kind.file);
      expect(await readStored(path, kind.schema)).toEqual({
        ok: false,
        reason: 'absent',
        problem: 'missing',
        why: `${path}: missing`,
      });
    });
  });
});

describe('readStored', () => {
  it('an empty file, a non-object, and YAML that is not YAML are misses that say so', async () => {
    const dir = await tempDir();
    const empty = await put(join(dir, 'empty.json'), '\n');
    expect(await readStored(empty, markerSchema)).toMatchObject({ reason: 'syntax', problem: 'empty' });
    const array = await put(join(dir, 'array.json'), '[]');
    expect(await readStored(array, markerSchema)).toMatchObject({
      reason: 'schema',
      problem: expect.stringMatching(/^\(root\): .*expected object/),
    });
    const yaml = await put(join(dir, 'runner.lock.yaml'), 'ref: [unclosed\n');
    expect(await readStored(yaml, lockSchema)).toMatchObject({
      reason: 'syntax',
      problem: expect.stringMatching(/^not YAML \(/),
    });
  });

  it('names the first issues and counts the rest', async () => {
    const path = await put(join(await tempDir(), 'run-log.json'), '{}');
    const read = await readStored(path, runLogSchema);
    expect(read.ok).toBe(false);
    if (read.ok) return;
    expect(read.problem).toMatch(/^format: .*; benchmark: .*; stateMode: .*; and \d+ more$/);
  });

  it('a FIFO in a file’s place is refused, not waited on', async () => {
    const path = join(await tempDir(), 'run-log.json');
    try {
      execFileSync('mkfifo', [path]);
    } catch {
      return; // No mkfifo here: nothing to test.
    }
    expect(await readStored(path, runLogSchema)).toMatchObject({
      reason: 'unreadable',
      problem: 'not a regular file',
    });
  });
});

describe('run-log.json', () => {
  it.each([
    ['a lite attempt', liteLog],
    ['a docker attempt through the gateway', dockerLog],
    ['a manual attempt', manualLog],
  ])('%s, as written today, parses to itself', async (_, log) => {
    const dir = await tempDir();
    await put(join(dir, 'run-log.json'), json(log));
    expect(await readRunLog(dir)).toEqual({ ok: true, value: log });
  });

  it.each(historicLogs)(
    'one written before %s parses, the later fields as they were then',
    async (_, log) => {
      const dir = await tempDir();
      await put(join(dir, 'run-log.json'), json(log));
      const read = await readRunLog(dir);
      expect(read.ok, read.ok ? '' : read.why).toBe(true);
      if (!read.ok) return;
      expect(read.value).toMatchObject({ key: liteLog.key, preimage: liteLog.preimage });
      expect(read.value.engine).toBe(log.engine ?? null);
      expect(read.value.runtime).toBe(log.runtime ?? null);
      expect(read.value.summary).toEqual(log.summary ?? null);
      expect(read.value.gateway).toBeUndefined();
    },
  );

  it.each([
    ['an unknown outcome', edited(liteLog, ['outcome'], 'crashed'), 'outcome'],
    ['a key that is no sha256', edited(liteLog, ['key'], 'x'), 'key'],
    ['a gateway record of neither kind', edited(liteLog, ['gateway'], { used: 'yes' }), 'gateway.used'],
    ['a gateway record without its usage', edited(liteLog, ['gateway'], { used: true }), 'gateway.upstream'],
    ['a summary of the wrong shape', edited(liteLog, ['summary'], { turns: 'two' }), 'summary.turns'],
    ['an attempt index of 0', edited(liteLog, ['attempt'], 0), 'attempt'],
  ])('is not one with %s', async (_, log, field) => {
    const dir = await tempDir();
    await put(join(dir, 'run-log.json'), json(log));
    const read = await readRunLog(dir);
    expect(read).toMatchObject({ ok: false, reason: 'schema' });
    if (!read.ok) expect(read.problem.startsWith(`${field}: `)).toBe(true);
  });
});

describe('the readers pass the reason on', () => {
  it('an attempt whose run-log is not one says why', async () => {
    const paths = statePaths(await tempDir());
    await put(join(paths.attempts, 't-m1-attempt-1', 'run-log.json'), json(edited(liteLog, ['runId'], 7)));
    await put(join(paths.attempts, 't-m1-attempt-2', 'run-log.json'), json(liteLog));
    await mkdir(join(paths.attempts, 't-m1-attempt-3'), { recursive: true });
    const records = await AttemptRecords.load(paths, 'b');
    expect(await records.get('t-m1-attempt-1')).toBeUndefined();
    expect(records.whyInvalid('t-m1-attempt-1')).toMatch(/^run-log\.json: runId: /);
    expect(await records.get('t-m1-attempt-2')).toBeUndefined();
    expect(records.whyInvalid('t-m1-attempt-2')).toBe('run-log.json: of benchmark b, t-m1 attempt 1');
    expect(await records.get('t-m1-attempt-3')).toBeUndefined();
    expect(records.whyInvalid('t-m1-attempt-3')).toBe('run-log.json: missing');
  });

  it('the attempt index the records write reads back; one edited, torn or of another format is empty', async () => {
    const paths = statePaths(await tempDir());
    const log = join(paths.attempts, 't-m1-attempt-1', 'run-log.json');
    await put(log, json(liteLog));
    const records = await AttemptRecords.load(paths, 'b');
    expect(await records.get('t-m1-attempt-1')).toMatchObject({ key: liteLog.key, model: 'm1' });
    await records.save();
    const index = join(paths.root, 'attempt-index.json');
    const header = z.object({ format: z.number(), benchmark: z.string(), sha256: z.string() });
    const read = await readSealed(index, header);
    expect(read.ok && read.value.header).toMatchObject({ format: INDEX_FORMAT, benchmark: 'b' });
    const saved = (read.ok ? read.value.body : {}) as Record<string, Record<string, unknown>>;
    expect(Object.keys(saved)).toEqual(['t-m1-attempt-1']);

    // The index says failed while the run-log says succeeded: whatever the index says is not
    // trusted unless it is as written, so the run-log is read.
    const lie = edited(saved, ['t-m1-attempt-1', 'outcome'], 'failed');
    const text = sealed({ format: INDEX_FORMAT, benchmark: 'b' }, lie);
    const [head, body] = [text.slice(0, text.indexOf('\n') + 1), text.slice(text.indexOf('\n') + 1)];
    const forged = sealed({ format: INDEX_FORMAT, benchmark: 'b' }, saved).split('\n')[0];
    for (const [what, content, why] of [
      ['edited by hand', `${forged}\n${body}`, 'changed since it was written'],
      ['cut short', `${head}${body.slice(0, 40)}`, 'changed since it was written'],
      [
        'of another format',
        text.replace(`"format":${INDEX_FORMAT}`, '"format":1'),
        'header: of another format',
      ],
      ['an older index, one JSON object', `${JSON.stringify(lie)}\n`, 'header: of another format'],
    ] as const) {
      await put(index, content);
      const miss = await readSealed(index, header.extend({ format: z.literal(INDEX_FORMAT) }));
      expect(miss.ok ? 'read' : miss.problem, what).toBe(why);
      const again = await AttemptRecords.load(paths, 'b');
      expect(await again.get('t-m1-attempt-1'), what).toMatchObject({ outcome: 'succeeded' });
    }
    // Sealed as written, an index of another benchmark (its directory copied) is not trusted either.
    await put(index, sealed({ format: INDEX_FORMAT, benchmark: 'other' }, lie));
    expect(await (await AttemptRecords.load(paths, 'b')).get('t-m1-attempt-1')).toMatchObject({
      outcome: 'succeeded',
    });
    // And a sealed index of this benchmark is taken as it is: that is what it is for.
    await put(index, text);
    expect(await (await AttemptRecords.load(paths, 'b')).get('t-m1-attempt-1')).toMatchObject({
      outcome: 'failed',
    });
  });

  it('a node record the store writes reads back; one of another key or shape is a miss', async () => {
    const paths = statePaths(await tempDir());
    const store = new NodeStore(paths);
    const key = nodeKey({ name: 'pin-digest', version: 1 }, { digest: 'x' });
    await store.set('pin-digest', key, { digest: 'x' });
    expect(await store.get('pin-digest', key.key)).toMatchObject({ key: key.key, output: { digest: 'x' } });
    expect(await store.get('resolve-image', key.key)).toBeUndefined();
    const file = join(paths.nodes, 'pin-digest', `${key.key}.json`);
    await put(file, json({ task: 'pin-digest', key: key.key, output: {} }));
    expect(await store.get('pin-digest', key.key)).toBeUndefined();
  });

  it('the lock writeLock writes reads back; an invalid one is an error naming the field', async () => {
    const dir = await tempDir();
    const lock = {
      ref: 'example/b:1',
      digest: `sha256:${'e'.repeat(64)}`,
      resolved_at: new Date().toISOString(),
    };
    await writeLock(dir, lock);
    expect(await readLock(dir)).toEqual(lock);
    await put(join(dir, 'runner.lock.yaml'), 'ref: example/b:1\ndigest: not-a-digest\nresolved_at: now\n');
    await expect(readLock(dir)).rejects.toThrow(
      /runner\.lock\.yaml: digest: must be repo@sha256:<64 hex digits> or an image id; delete it, or run with --update-image, to re-pin/,
    );
    await rm(join(dir, 'runner.lock.yaml'));
    expect(await readLock(dir)).toBeUndefined();
  });

  it('a marker claimed and updated reads back; one of the wrong shape is corrupt, saying where', async () => {
    const paths = statePaths(await tempDir());
    const marker = { ...(await ownMarker('r1', 't-m1-attempt-1')), containerId: 'c1' };
    expect(await claimMarker(paths, marker)).toBe(true);
    await updateMarker(paths, { ...marker, childPid: 4242 });
    const file = join(paths.running, 't-m1-attempt-1.json');
    expect(await readMarker(file)).toEqual({ ...marker, childPid: 4242 });
    await put(file, json({ ...marker, pid: 'x' }));
    expect(await readMarker(file)).toMatchObject({
      corrupt: true,
      attempt: 't-m1-attempt-1',
      why: expect.stringMatching(/^not a marker: pid: /),
    });
  });

  it('a seed template whose entries are of the wrong shape is missing, with a warning naming the field', async () => {
    const paths = statePaths(await tempDir());
    await put(join(paths.seeds, 'k', 'entries.json'), json([{ type: 'file', path: 7 }]));
    const warnings: string[] = [];
    expect(await loadSeed(paths, 'k', (m) => warnings.push(m))).toBeUndefined();
    expect(warnings).toEqual([
      expect.stringMatching(/^seed template .*entries\.json: \[0\]\.path: .*; building it again$/),
    ]);
  });
});

describe('what the tool writes reads back', () => {
  it('run, prepare and status: every stored file parses; a broken run-log is named in status', async () => {
    const rig = await makeRig(benchmarkFiles('b'));
    // prepare makes its workspace under the temp dir: the rig's own, so it goes with the rig.
    const env = { TMPDIR: join(rig.dir, 'tmp') };
    await mkdir(env.TMPDIR);
    const run = await rig.cli(['run', '--harness', 't', '--attempts', '1']);
    expect(run.code, run.stdout + run.stderr).toBe(0);
    const bench = join(rig.dir, 'benchmarks/b');
    const paths = statePaths(bench);

    const log = await readRunLog(join(paths.attempts, 't-default-attempt-1'));
    expect(log.ok, log.ok ? '' : log.why).toBe(true);
    const header = z.object({
      format: z.literal(INDEX_FORMAT),
      benchmark: z.literal('b'),
      sha256: z.string(),
    });
    const index = await readSealed(join(paths.root, 'attempt-index.json'), header);
    expect(index.ok && Object.keys(index.value.body as object)).toEqual(['t-default-attempt-1']);
    expect((await readStored(paths.statCache, statCacheSchema)).ok).toBe(true);
    expect((await readStored(join(rig.dir, '.cache/versions.json'), versionsSchema)).ok).toBe(true);
    const tasks = await readdir(paths.nodes);
    expect(tasks.length).toBeGreaterThan(0);
    for (const task of tasks)
      for (const file of await readdir(join(paths.nodes, task))) {
        const record = await readStored(join(paths.nodes, task, file), nodeRecordSchema);
        expect(record.ok, record.ok ? '' : record.why).toBe(true);
      }
    const seeds = (await readdir(paths.seeds)).filter((n) => !n.startsWith('.'));
    expect(seeds).toHaveLength(1);
    expect((await readStored(join(paths.seeds, seeds[0]!, 'entries.json'), entriesSchema)).ok).toBe(true);

    const prepared = await rig.cli(['prepare', 'b', '--model', 'gpt-5', '--harness', 'cursor'], env);
    expect(prepared.code, prepared.stderr).toBe(0);
    const workspace = prepared.stdout.split('\n')[0]!;
    const record = await readStored(`${workspace}.bench-pipeline.json`, preparedSchema);
    expect(record.ok && record.value).toMatchObject({ harness: 'cursor', model: 'gpt-5' });
    await put(`${workspace}.bench-pipeline.json`, json({ harness: 'cursor' }));
    const collect = await rig.cli(['collect', workspace], env);
    expect(collect.code).toBe(2);
    expect(collect.stderr).toMatch(
      /bench-pipeline\.json: not a record bench-pipeline prepare wrote \(benchmarkDir: /,
    );

    await put(join(paths.attempts, 't-default-attempt-2', 'run-log.json'), '{"format": 1,');
    const status = await rig.cli(['status']);
    expect(status.code, status.stderr).toBe(0);
    expect(status.stdout).toMatch(/attempt 2 invalid: .*\(run-log\.json: not JSON \(.+\)\)/);
  });
});
