import { rm } from 'node:fs/promises';
import type { RunHarnessInput } from '../tasks/harness-input.js';
import { homeOf } from '../tasks/harness-process.js';
import { basePathOf, type HarnessAdapter } from '../tasks/harnesses/adapter.js';
import { type HarnessRun, runHarness } from '../tasks/run-harness.js';
import type { SeedOutput } from '../tasks/seed-workspace.js';
import type { AttemptLifecycle } from './attempt-lifecycle.js';
import { InfraError } from './errors.js';
import { describeFailure, type Failure, type ModelApiFault } from './failures.js';
import type { Gateway, GatewayUsage, Lease } from './gateway/server.js';
import { viaGateway } from './harness-env.js';
import type { NodeKey } from './keys.js';
import type { AttemptLine, BenchmarkPlan } from './plan.js';
import { type RunContext, runTempDir } from './run-context.js';

/** Which attempt: its benchmark, its line, its run. */
export interface AttemptOf {
  bp: BenchmarkPlan;
  line: AttemptLine;
  rc: RunContext;
}

/** What one try of the harness gives: its run, what the gateway measured, what it changed outside its workspace. */
export interface HarnessTry {
  run: HarnessRun;
  /** What the gateway measured; undefined when the harness talks to its API directly. */
  usage: GatewayUsage | undefined;
  /** lite: what the harness changed outside its workspace (see PackageWatch); undefined: not watched. */
  breaches: string[] | undefined;
}

/** An attempt stopped by the model API: an infrastructure error, never a result. */
export const modelApiError = (fault: ModelApiFault) => {
  const failure: Failure = { reason: 'model-api', ...fault };
  return new InfraError(describeFailure(failure), failure);
};

/**
 * One try of an attempt's harness, through the gateway when its harness goes through it: a lease
 * of a capability on one of its keys, the harness run (lite: with its package watched), and the
 * fault that stopped it, if the gateway saw one (then what the try left of its workspace is gone).
 */
export async function tryHarness(
  { bp, line, rc }: AttemptOf,
  { seed, digest }: { seed: SeedOutput; digest: string },
  lifecycle: AttemptLifecycle,
  input: RunHarnessInput,
  key: NodeKey,
): Promise<HarnessTry> {
  const { ref } = lifecycle;
  const lease = await leaseFor(line.adapter, rc.gateway, rc.signal);
  const workspaceRoot = runTempDir(rc.runId);
  // lite: the harness could write anywhere; what it changed of the package is recorded.
  const watch = bp.mode === 'lite' ? rc.packageWatch(bp) : undefined;
  const watched = await watch?.begin(ref.name);
  let run: HarnessRun | undefined;
  try {
    const gateway = rc.gateway;
    const basePath = lease && basePathOf(lease.route.family);
    const baseUrl = lease && gateway && bp.mode === 'lite' ? `${gateway.url}${basePath}` : undefined;
    const access = lease && { capability: lease.capability, baseUrl };
    run = await runHarness.run(
      {
        ...input,
        adapter: baseUrl ? viaGateway(line.adapter, baseUrl) : line.adapter,
        seed,
        workspaceRoot,
        staging: lifecycle.staging,
        attemptTag: lifecycle.attemptTag,
        timeoutMs: rc.timeoutMs,
        env: rc.envFor(line, bp.mode, access),
        container: rc.containerFor(bp, digest),
        stop: lease?.stopped,
        network: bp.bench.manifest.network,
        gateway:
          lease && gateway?.socketDir && bp.mode === 'docker'
            ? { socketDir: gateway.socketDir, basePath: basePathOf(lease.route.family) }
            : undefined,
        onSpawn: async (running, workspace) => {
          await lifecycle.running(
            'pid' in running
              ? { childPid: running.pid, childStart: running.start, workspace }
              : { containerId: running.containerId, workspace },
          );
          rc.emit({ type: 'attempt-start', attempt: ref, workspace, at: Date.now() });
        },
      },
      { signal: rc.signal, key, emit: rc.emit, redactor: rc.redactorFor(line) },
    );
  } catch (error) {
    // Stopped for a fault of the API: that, not how the harness ended, is what happened.
    if (!lease?.fault) throw error;
  } finally {
    lease?.release();
    if (!run || lease?.fault) watch?.close(ref.name);
  }
  if (lease?.fault) {
    if (run)
      for (const dir of [run.workspace, homeOf(run.workspace)])
        await rm(dir, { recursive: true, force: true });
    throw modelApiError(lease.fault);
  }
  const breaches = watch && watched ? await watch.end(ref.name, watched) : undefined;
  return { run: run!, usage: lease?.usage(), breaches };
}

/** A capability on one of `adapter`'s keys (an attempt's, a judge's), or none when it talks to its API directly. */
export async function leaseFor(
  adapter: HarnessAdapter,
  gateway: Gateway | undefined,
  signal: AbortSignal,
): Promise<Lease | undefined> {
  const route = adapter.gateway;
  if (!route || !gateway) return undefined;
  if (gateway.budgetSpent())
    throw modelApiError({
      kind: 'budget',
      harness: adapter.name,
      keyEnv: adapter.keyEnvs[0] ?? '',
      status: null,
      errorType: null,
      upstream: route.upstream,
      requests: 0,
    });
  const got = await gateway.lease(
    {
      harness: adapter.name,
      keyEnvs: adapter.keyEnvs,
      keyConcurrency: adapter.config.keyConcurrency ?? Number.POSITIVE_INFINITY,
      route,
    },
    signal,
  );
  if ('refused' in got) throw modelApiError({ ...got.refused, requests: 0 });
  return got;
}

/** A refused key is worth another try only on another key; a spent budget never. */
export function retryable(failure: ModelApiFault, { line, rc }: AttemptOf): boolean {
  if (failure.kind === 'budget') return false;
  return failure.kind !== 'refused' || (rc.gateway?.usable(line.adapter.keyEnvs) ?? false);
}
