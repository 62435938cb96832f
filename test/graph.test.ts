import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AttemptLifecycle, NextIndex } from '../pipeline/attempt-lifecycle.js';
import { attemptName } from '../pipeline/attempts.js';
import { loadConfig } from '../pipeline/config.js';
import { InfraError } from '../pipeline/errors.js';
import type { AttemptRef, PipelineEvent } from '../pipeline/events.js';
import { Executor, type Outputs, type Step } from '../pipeline/executor.js';
import { attemptTaskKeys, buildGraph, edgesOf, type Graph, type GraphNode } from '../pipeline/graph.js';
import { nodeKey } from '../pipeline/keys.js';
import { buildPlan } from '../pipeline/plan.js';
import { VersionProbe } from '../pipeline/probe.js';
import { Redactor } from '../pipeline/redact.js';
import { benchmarkSelection } from '../pipeline/selection.js';
import { NodeStore, statePaths } from '../pipeline/state.js';
import { benchmarkFiles, configFile, makeRig } from './helpers/rig.js';

describe('the graph of a plan', () => {
  it('has the shared nodes once, three nodes an attempt, and the plan keys', async () => {
    const rig = await makeRig({ ...benchmarkFiles('b'), 'bench.config.mjs': configFile() });
    process.env.BENCH_PIPELINE_CACHE_DIR = join(rig.dir, '.cache');
    const config = await loadConfig(undefined, rig.dir);
    const plan = await buildPlan(config, benchmarkSelection('b', { harnesses: ['t'], attempts: 2 }), {
      persist: false,
      probe: await new VersionProbe().load(),
    });
    const graph = buildGraph(plan);
    const ids = graph.nodes.map((n) => n.id);
    expect(ids.slice(0, 3)).toEqual(['b/resolve-image', 'b/pin-digest', 'b/seed-workspace']);
    expect(ids.filter((id) => id.endsWith('/run-harness'))).toEqual([
      'b/t-default-attempt-1/run-harness',
      'b/t-default-attempt-2/run-harness',
    ]);
    expect(new Set(ids).size).toBe(ids.length);
    // Every dep is a node listed before it: the executor schedules in one pass.
    const seen = new Set<string>();
    for (const n of graph.nodes) {
      for (const d of n.deps) expect(seen.has(d), `${n.id} <- ${d}`).toBe(true);
      seen.add(n.id);
    }
    expect(edgesOf(graph)).toContainEqual([
      'b/t-default-attempt-1/run-harness',
      'b/t-default-attempt-1/collect',
    ]);
    const [line] = plan.benchmarks[0]!.lines;
    for (const planned of line!.attempts) {
      const keys = attemptTaskKeys(planned.key.key);
      for (const task of ['run-harness', 'collect', 'write-run-log'] as const) {
        const node = graph.nodes.find((n) => n.id === `b/${planned.ref.name}/${task}`)!;
        expect(node.key).toBe(keys[task]);
        expect(node.state).toBe('missing');
      }
    }
    expect(graph.nodes.find((n) => n.id === 'b/seed-workspace')!.key).toBe(plan.benchmarks[0]!.seed.key.key);

    // --more: nodes whose key is known only once the index is claimed.
    const more = buildGraph(
      await buildPlan(config, benchmarkSelection('b', { harnesses: ['t'], more: 2 }), {
        persist: false,
        probe: await new VersionProbe().load(),
      }),
    );
    const next = more.nodes.filter((n) => n.task === 'run-harness');
    expect(next.map((n) => [n.attempt, n.key])).toEqual([
      ['t-default-attempt-(next+0)', ''],
      ['t-default-attempt-(next+1)', ''],
    ]);
  });
});

/** A graph node for the executor alone: its input is the step's business. */
const node = (id: string, task: GraphNode['task'], deps: string[] = []): GraphNode =>
  ({ id, task, benchmark: 'b', deps, key: '', state: 'missing', why: '' }) as unknown as GraphNode;

const keyOf = (name: string) => nodeKey({ name: 'resolve-image', version: 1 }, { name });

describe('the executor', () => {
  let dir: string;
  let store: NodeStore;
  let events: PipelineEvent[];
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'bp-exec-'));
    store = new NodeStore(statePaths(dir));
    events = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  const execute = (
    graph: Graph,
    steps: Record<string, (outputs: Outputs) => Step>,
    { skip = new Set<string>(), signal = new AbortController().signal, concurrency = 2 } = {},
  ) =>
    new Executor({
      emit: (e) => events.push(e),
      storeOf: () => store,
      redactorOf: () => new Redactor([]),
      stepOf: (n, outputs) => steps[n.id]!(outputs),
    }).execute(graph, { concurrency, signal, skip: (n) => skip.has(n.id) });

  const done = () =>
    events.flatMap((e) => (e.type === 'node-done' ? [[e.node.id, e.cached] as [string, boolean]] : []));

  it('runs a miss, records it whole, and the next run takes the record instead', async () => {
    let runs = 0;
    const graph: Graph = { nodes: [node('b/a', 'resolve-image'), node('b/z', 'seed-workspace', ['b/a'])] };
    const steps = {
      'b/a': (): Step => ({
        key: () => keyOf('a'),
        run: async () => {
          runs++;
          return { value: 41 };
        },
      }),
      // Its key is made from what its upstream produced.
      'b/z': (outputs: Outputs): Step => ({
        key: () => keyOf(`z${(outputs('b/a') as { value: number }).value}`),
        run: async () => ({ sum: (outputs('b/a') as { value: number }).value + 1 }),
      }),
    };
    await execute(graph, steps);
    expect(runs).toBe(1);
    expect(done()).toEqual([
      ['b/a', false],
      ['b/z', false],
    ]);
    const record = await store.get('seed-workspace', keyOf('z41').key);
    expect(record?.output).toEqual({ sum: 42 });
    expect(record?.preimage.params).toEqual({ name: 'z41' });
    // Written temp-then-rename: nothing else is left in the records' directories.
    expect(await readdir(join(dir, '.pipeline/nodes/resolve-image'))).toEqual([`${keyOf('a').key}.json`]);

    events = [];
    await execute(graph, steps);
    expect(runs).toBe(1);
    expect(done()).toEqual([
      ['b/a', true],
      ['b/z', true],
    ]);
  });

  it('records a node whose output names its key under that key, and no record where asked', async () => {
    const graph: Graph = { nodes: [node('b/pin', 'pin-digest'), node('b/rt', 'mount-runtime')] };
    await execute(graph, {
      'b/pin': () => ({
        key: () => undefined,
        run: async () => ({ digest: 'sha256:1' }),
        keyOf: (out) => keyOf((out as { digest: string }).digest),
      }),
      'b/rt': () => ({ key: () => keyOf('rt'), lookup: false, stored: false, run: async () => 'mounted' }),
    });
    expect((await store.get('pin-digest', keyOf('sha256:1').key))?.output).toEqual({ digest: 'sha256:1' });
    expect(await store.get('mount-runtime', keyOf('rt').key)).toBeUndefined();
  });

  it('turns a throw into a failure: its dependents are told and undo, its siblings run', async () => {
    const undone: string[] = [];
    const failing = (id: string, error: unknown) => (): Step => ({
      key: () => keyOf(id),
      run: async () => {
        throw error;
      },
      onFailed: async (f) => void undone.push(`${id}:${f.reason}`),
    });
    const ok = (id: string) => (): Step => ({
      key: () => keyOf(id),
      run: async () => id,
      onFailed: async (f) => void undone.push(`${id}:${f.reason}`),
    });
    const graph: Graph = {
      nodes: [
        node('b/docker', 'resolve-image'),
        node('b/after', 'pin-digest', ['b/docker']),
        node('b/io', 'seed-workspace'),
        node('b/sibling', 'mount-runtime'),
      ],
    };
    const noSpace = Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    await execute(graph, {
      'b/docker': failing(
        'docker',
        new InfraError('engine gone', { reason: 'docker', message: 'engine gone' }),
      ),
      'b/after': ok('after'),
      'b/io': failing('io', noSpace),
      'b/sibling': ok('sibling'),
    });
    const failed = Object.fromEntries(
      events.flatMap((e) => (e.type === 'node-failed' ? [[e.node.id, e.failure]] : [])),
    );
    expect(failed['b/docker']).toEqual({ reason: 'docker', message: 'engine gone' });
    expect(failed['b/after']).toEqual({ reason: 'dependency-failed', dependency: 'b/docker' });
    expect(failed['b/io']).toMatchObject({ reason: 'io', message: expect.stringContaining('ENOSPC') });
    expect(undone.sort()).toEqual(['after:dependency-failed', 'docker:docker', 'io:io']);
    expect(done()).toEqual([['b/sibling', false]]);
  });

  it('after a cancel starts no node but those that finish what has run; the rest are cancelled', async () => {
    const abort = new AbortController();
    const ran: string[] = [];
    const undone: string[] = [];
    const step = (id: string, then?: () => void) => (): Step => ({
      key: () => keyOf(id),
      run: async () => {
        ran.push(id);
        then?.();
        return id;
      },
      onFailed: async (f) => void undone.push(`${id}:${f.reason}`),
    });
    const graph: Graph = {
      nodes: [
        node('b/harness', 'run-harness'),
        // collect finishes an attempt whose harness ran: it runs even after the cancel.
        node('b/collect', 'collect', ['b/harness']),
        node('b/other', 'run-harness'),
        node('b/after-other', 'collect', ['b/other']),
      ],
    };
    await execute(
      graph,
      {
        'b/harness': step('harness', () => abort.abort()),
        'b/collect': step('collect'),
        'b/other': step('other'),
        'b/after-other': step('after-other'),
      },
      { signal: abort.signal, concurrency: 1 },
    );
    expect(ran).toEqual(['harness', 'collect']);
    expect(undone.sort()).toEqual(['after-other:cancelled', 'other:cancelled']);
  });

  it('leaves out the nodes it is told to skip', async () => {
    let ran = false;
    await execute(
      { nodes: [node('b/x', 'resolve-image')] },
      {
        'b/x': () => ({
          key: () => keyOf('x'),
          run: async () => {
            ran = true;
          },
        }),
      },
      { skip: new Set(['b/x']) },
    );
    expect(ran).toBe(false);
    expect(events).toEqual([]);
  });
});

describe('the next free index', () => {
  it('passes over complete and held indices, listing eval-attempts/ once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'bp-claim-'));
    try {
      const paths = statePaths(dir);
      for (const n of [1, 2, 5]) await mkdir(join(paths.attempts, attemptName('m', n)), { recursive: true });
      const ref = (n: number): AttemptRef => ({
        benchmark: 'b',
        name: attemptName('m', n),
        modelId: 'm',
        n,
        harness: 'h',
        model: undefined,
        variant: undefined,
      });
      const next = new NextIndex(paths.attempts);
      const claim = () => AttemptLifecycle.claimNext(paths, 'run', 'm', ref, next, new Redactor([]));
      const first = await claim();
      expect(first.ref.n).toBe(6);
      // Published by another invocation after the listing, and one held by another: both passed over.
      await mkdir(join(paths.attempts, attemptName('m', 7)));
      await mkdir(paths.running, { recursive: true });
      await writeFile(join(paths.running, `${attemptName('m', 8)}.json`), '{}');
      const second = await claim();
      expect(second.ref.n).toBe(9);
      // Each claim holds its marker until it is published or abandoned.
      const marker = JSON.parse(await readFile(join(paths.running, `${attemptName('m', 9)}.json`), 'utf8'));
      expect(marker).toMatchObject({ pid: process.pid, attempt: 'm-attempt-9', staging: second.staging });
      await second.abandon();
      await first.abandon();
      expect((await readdir(paths.running)).sort()).toEqual([`${attemptName('m', 8)}.json`]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
