import { join, relative } from 'node:path';
import type { RunHarnessInput } from '../tasks/harness-input.js';
import type { HarnessAdapter } from '../tasks/harnesses/adapter.js';
import { DEFAULT_WRAPPER_PROMPT } from '../tasks/harnesses/adapter.js';
import { LITE_DIGEST, pinDigest } from '../tasks/pin-digest.js';
import { type BuildContext, buildContext, resolveImage } from '../tasks/resolve-image.js';
import { runHarness } from '../tasks/run-harness.js';
import { loadSeed, seedWorkspace } from '../tasks/seed-workspace.js';
import { type AttemptRecord, AttemptRecords } from './attempt-records.js';
import { INVALID_ATTEMPT, type NodeStatus, outcomeStatus, staleStatus } from './attempt-status.js';
import { attemptDirs, attemptName, lineIdentity } from './attempts.js';
import { selectBenchmarks } from './benchmarks.js';
import type { ResolvedConfig } from './config.js';
import { UsageError } from './errors.js';
import type { AttemptRef } from './events.js';
import { hashInventory } from './inventory-hash.js';
import { keyFamily, type NodeKey } from './keys.js';
import { LOCK_FILE, readLock } from './lock.js';
import type { Benchmark } from './manifest.js';
import { isMarkerAlive, type RunningMarker, readMarkers } from './markers.js';
import { preflightBenchmark, type ResolvedLine } from './preflight-benchmark.js';
import type { VersionProbe } from './probe.js';
import type { RerunWhat, Selection } from './selection.js';
import { NodeStore, type StatePaths, statePaths } from './state.js';
import { taskKey } from './task.js';
import type { Inventory } from './visible-files.js';

export interface AttemptPlan {
  ref: AttemptRef;
  key: NodeKey;
  status: NodeStatus;
  /** skip: complete, nothing to do; run: make it complete; replace: run again, moving the old one aside. */
  action: 'skip' | 'run' | 'replace';
  recorded: AttemptRecord | undefined;
  /** A live invocation is running this attempt now. */
  runningElsewhere: RunningMarker | undefined;
}

/** One harness x model x variant on one benchmark: a model id and its attempts. */
export interface AttemptLine extends ResolvedLine {
  cliVersion: string;
  /** The instruction the harness is given; part of the attempt key. */
  wrapperPrompt: string;
  attempts: AttemptPlan[];
  /** `--more K`: K new attempts at the next free indices, claimed when they start. */
  more: number;
}

/** Whether `run` has anything to do on this line: an attempt to run or replace, or new ones. */
export const lineHasWork = (l: AttemptLine) => l.more > 0 || l.attempts.some((a) => a.action !== 'skip');
export const hasWork = (bp: BenchmarkPlan) => bp.lines.some(lineHasWork);

/** The digest of a docker-mode attempt whose image is not pinned yet: `run` pins it first. */
export const UNPINNED = 'not pinned yet';

export interface BenchmarkPlan {
  bench: Benchmark;
  paths: StatePaths;
  mode: 'lite' | 'docker';
  inventory: Inventory;
  /** The complete attempts' records; `run` adds to them and saves them at the end. */
  records: AttemptRecords;
  hostRuntimes: Record<string, string>;
  /** docker: the benchmark's Dockerfile context, if it has one. */
  context: BuildContext | undefined;
  /** docker: the digest in runner.lock.yaml, when it pins this benchmark's image. */
  locked: string | undefined;
  resolve: { key: NodeKey; status: NodeStatus };
  pin: { key: NodeKey; digest: string; status: NodeStatus };
  seed: { key: NodeKey; status: NodeStatus };
  lines: AttemptLine[];
}

export interface Plan {
  config: ResolvedConfig;
  benchmarks: BenchmarkPlan[];
}

export interface PlanOptions {
  /** Whether caches (stat cache) may be written: false for `plan`, which has no side effects. */
  persist: boolean;
  probe: VersionProbe;
  /**
   * `run --update-image`: the image is resolved again whatever runner.lock.yaml says, so a lock
   * that cannot be read is no obstacle (the new pin replaces it).
   */
  updateImage?: boolean;
}

/**
 * Loads the selected benchmarks, runs every preflight check, computes every node's key and
 * decides each node's state. Refuses with a UsageError (exit 2) listing every problem at once.
 */
export async function buildPlan(
  config: ResolvedConfig,
  selection: Selection,
  options: PlanOptions,
): Promise<Plan> {
  const benches = await selectBenchmarks(config, selection.benchmarks);
  const plans: BenchmarkPlan[] = [];
  for (const bench of benches) plans.push(await planBenchmark(config, selection, options, bench));
  return { config, benchmarks: plans };
}

async function planBenchmark(
  config: ResolvedConfig,
  selection: Selection,
  options: PlanOptions,
  bench: Benchmark,
): Promise<BenchmarkPlan> {
  const { manifest } = bench;
  const { diagnostics, inventory, resolved, mode } = await preflightBenchmark(config, selection, bench);
  if (diagnostics.length)
    throw new UsageError(`${bench.manifestPath}: the benchmark cannot run as asked`, diagnostics);

  const paths = statePaths(bench.dir);
  await hashInventory(inventory, paths.statCache, options.persist);
  const store = new NodeStore(paths);

  const image = manifest.image ?? null;
  const context = mode === 'docker' ? await buildContext(bench.dir) : undefined;
  const lock =
    mode === 'docker'
      ? await readLock(bench.dir).catch((error: unknown) => {
          if (options.updateImage && error instanceof UsageError) return undefined;
          throw error;
        })
      : undefined;
  // A lock holds while the ref, and the Dockerfile context the image was built from, are unchanged.
  const contextChanged = !selection.digest && lock?.ref === image && lock.context !== context?.hash;
  const locked = selection.digest ?? (lock?.ref === image && !contextChanged ? lock.digest : undefined);
  const digest = mode === 'lite' ? LITE_DIGEST : (locked ?? UNPINNED);
  const resolveKey = taskKey(resolveImage, { ref: image, mode, context });
  const pinKey = taskKey(pinDigest, { resolveKey: resolveKey.key, ref: image, digest });
  const seedKey = taskKey(seedWorkspace, { stateMode: manifest.state_mode, inventory, paths });
  const seedDone = (await loadSeed(paths, seedKey.key)) !== undefined;
  // Today's seed preimage is in hand; earlier ones are in the node records.
  const seedPreimages = async (key: string) =>
    key === seedKey.key ? seedKey.preimage : (await store.get('seed-workspace', key))?.preimage;
  const imageStatus: NodeStatus =
    mode === 'lite'
      ? { state: 'done', why: `lite mode: image ${image ?? 'none'} recorded, not pulled` }
      : locked
        ? { state: 'done', why: `pinned in ${LOCK_FILE}: ${locked}` }
        : contextChanged
          ? {
              state: 'stale',
              why: `the Dockerfile context changed since ${LOCK_FILE} was written: run rebuilds`,
            }
          : {
              state: 'missing',
              why: `not pinned yet: run resolves ${image} (local, else ${context ? 'built from the Dockerfile' : 'pulled'})`,
            };

  const hostRuntimes = mode === 'lite' ? await options.probe.hostRuntimes() : {};
  const taken = await attemptDirs(paths.attempts);
  const records = await AttemptRecords.load(paths, bench.slug);
  // A marker whose owner is gone means nothing is running: the next run cleans it up.
  const markers = await Promise.all(
    (await readMarkers(paths)).map(async (m) => ({ marker: m, alive: await isMarkerAlive(m) })),
  );
  const wrapperPromptFor = (a: HarnessAdapter) =>
    a.config.wrapperPrompt ?? config.wrapperPrompt ?? DEFAULT_WRAPPER_PROMPT;
  const keyContext: AttemptKeyContext = {
    seedKey: seedKey.key,
    pinKey: pinKey.key,
    mode,
    digest,
    hostRuntimes,
  };
  /**
   * The attempt keys of a line, by index. They differ only in `n`, so they come of one key family
   * (see keyFamily) made from attempt 1's inputs, with attemptKey itself as the check: should the
   * key of attempt 2 come out otherwise (run-harness's key took more of the attempt than its
   * index), every key is computed on its own.
   */
  const attemptKeys = (line: AttemptLine): ((n: number) => NodeKey) => {
    const direct = (n: number) => attemptKey(line, attemptRef(bench.slug, line, n), keyContext);
    const { params, upstream } = runHarness.keyInputs(
      runHarnessInput(line, attemptRef(bench.slug, line, 1), keyContext),
    );
    const family = keyFamily(runHarness, params, upstream, 'n');
    return family(2).key === direct(2).key ? family : direct;
  };
  const lines: AttemptLine[] = [];
  for (const r of resolved) {
    const cliVersion =
      mode === 'docker'
        ? 'pinned by the image digest'
        : r.adapter.versionCommand
          ? ((await options.probe.version(r.adapter.versionCommand)) ?? 'not-installed')
          : 'unversioned';
    const id = r.modelId;
    const existing = taken.get(id) ?? new Set<number>();
    const target = selection.more || selection.lines ? 0 : (selection.attempts ?? manifest.attempts_default);
    const indices = Array.from({ length: target }, (_, i) => i + 1);
    for (const n of existing) if (n > target) indices.push(n);
    const line: AttemptLine = {
      ...r,
      cliVersion,
      wrapperPrompt: wrapperPromptFor(r.adapter),
      attempts: [],
      more: selection.more ?? 0,
    };
    indices.sort((a, b) => a - b);
    // The records of the line's attempt directories, all at once (see AttemptRecords.getMany).
    const found = await records.getMany(
      indices.filter((n) => existing.has(n)).map((n) => attemptName(id, n)),
    );
    const keyOf = attemptKeys(line);
    const planAttempt = async (n: number): Promise<AttemptPlan> => {
      const ref = attemptRef(bench.slug, line, n);
      const key = keyOf(n);
      if (!existing.has(n)) {
        const held = markers.find((m) => m.marker.attempt === ref.name);
        const why =
          held && !held.alive
            ? `not run yet (a dead invocation's marker, pid ${held.marker.pid}; the next run cleans it up)`
            : 'not run yet';
        return {
          ref,
          key,
          status: { state: 'missing', why },
          action: 'run',
          recorded: undefined,
          runningElsewhere: held?.alive ? held.marker : undefined,
        };
      }
      const recorded = found.get(ref.name);
      if (!recorded) {
        // A directory without a valid run-log (planted by hand, or by an agent writing through
        // an absolute path) is not an attempt: where the index is asked for, run moves it aside
        // and makes the attempt; past the attempts asked for, it is left as it is.
        return {
          ref,
          key,
          status: {
            state: 'missing',
            why: `${INVALID_ATTEMPT} (${records.whyInvalid(ref.name) ?? 'not read'})`,
          },
          action: n <= target ? 'replace' : 'skip',
          recorded: undefined,
          runningElsewhere: undefined,
        };
      }
      // Awaited only when stale: ten thousand attempts of today's key are planned without a suspension each.
      const status =
        recorded.key === key.key
          ? outcomeStatus(recorded)
          : await staleStatus(ref.name, key, records, seedPreimages);
      const replace =
        (status.state === 'stale' && selection.rerun.includes('stale')) ||
        (status.state === 'failed' && selection.rerun.includes(recorded.outcome as RerunWhat));
      // Its image not pinned yet, the attempt's real key is known only once run pins it: run
      // decides then whether a --rerun applies (see Attempt's claim).
      const pinPending = digest === UNPINNED && selection.rerun.length > 0;
      return {
        ref,
        key,
        status: pinPending
          ? { ...status, why: `${status.why}; the image is not pinned yet: run decides once it is` }
          : status,
        action: replace || pinPending ? 'replace' : 'skip',
        recorded,
        runningElsewhere: undefined,
      };
    };
    line.attempts = await Promise.all(indices.map(planAttempt));
    // Attempts of another model with the same model-id would be taken for this one's.
    const other = line.attempts.find(
      (a) =>
        a.recorded &&
        lineIdentity(a.recorded.harness, a.recorded.model, a.recorded.variant) !==
          lineIdentity(r.adapter.name, r.model, r.variant?.name),
    );
    if (other?.recorded) {
      const { harness, model, variant } = other.recorded;
      throw new UsageError(
        `${lineIdentity(r.adapter.name, r.model, r.variant?.name)} maps to model-id "${id}", which ` +
          `${lineIdentity(harness, model, variant)} already has: ${relative(process.cwd(), join(paths.attempts, other.ref.name, 'run-log.json'))}. ` +
          'Different models never share one attempt set',
      );
    }
    lines.push(line);
  }

  return {
    bench,
    paths,
    mode,
    inventory,
    records,
    hostRuntimes,
    context,
    locked,
    resolve: { key: resolveKey, status: imageStatus },
    pin: { key: pinKey, digest, status: imageStatus },
    seed: {
      key: seedKey,
      status: seedDone
        ? { state: 'done', why: `template of ${inventory.files.length} files` }
        : { state: 'missing', why: `no template yet for these ${inventory.files.length} files` },
    },
    lines,
  };
}

export interface AttemptKeyContext {
  seedKey: string;
  pinKey: string;
  mode: 'lite' | 'docker';
  /** The pinned image digest (docker), or LITE_DIGEST. */
  digest: string;
  hostRuntimes: Record<string, string>;
}

/** The attempt key (run-harness's key) of attempt `ref` of `line`. */
export function attemptKey(line: AttemptLine, ref: AttemptRef, ctx: AttemptKeyContext): NodeKey {
  return taskKey(runHarness, runHarnessInput(line, ref, ctx));
}

/** What run-harness takes for attempt `ref` of `line`: its key's inputs, built here only. */
export function runHarnessInput(line: AttemptLine, ref: AttemptRef, ctx: AttemptKeyContext): RunHarnessInput {
  return {
    attempt: ref,
    seedKey: ctx.seedKey,
    pinKey: ctx.pinKey,
    mode: ctx.mode,
    imageDigest: ctx.digest,
    hostRuntimes: ctx.hostRuntimes,
    adapter: line.adapter,
    cliVersion: line.cliVersion,
    model: line.model,
    variant: line.variant,
    wrapperPrompt: line.wrapperPrompt,
  };
}

/** Attempt `n` of `line` on `benchmark`: built here only. */
export function attemptRef(benchmark: string, line: AttemptLine, n: number): AttemptRef {
  return {
    benchmark,
    name: attemptName(line.modelId, n),
    modelId: line.modelId,
    n,
    harness: line.adapter.name,
    model: line.model,
    variant: line.variant?.name,
  };
}
