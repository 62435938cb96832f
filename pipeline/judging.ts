import { HarnessOutput } from '../tasks/harness-output.js';
import { basePathOf } from '../tasks/harnesses/adapter.js';
import { harnessAdapter } from '../tasks/harnesses/registry.js';
import type { JudgeRan, JudgeSpec } from '../tasks/judge.js';
import { runOnHost } from '../tasks/run-on-host.js';
import type { ScoreRunInput } from '../tasks/score-attempt.js';
import { modelId } from './attempts.js';
import type { ResolvedConfig } from './config.js';
import { UsageError } from './errors.js';
import type { EventSink } from './events.js';
import type { Gateway } from './gateway/server.js';
import { harnessEnv, tokenVariables, viaGateway } from './harness-env.js';
import { leaseFor, modelApiError } from './harness-try.js';
import type { VersionProbe } from './probe.js';
import type { Redactor } from './redact.js';

/** A judge ready to run (`score --judge`): who it is, how it runs, and what to close after. */
export interface Judging {
  spec: JudgeSpec;
  judging: NonNullable<ScoreRunInput['judging']>;
  close(): Promise<void>;
}

/**
 * The judge harness `name` with `model`: resolved as a run resolves a harness (a custom command
 * or a built-in CLI, its version probed), run one-shot on this machine in its sandbox, through
 * the model gateway when it speaks one of its APIs (so the key never reaches it, and a model-API
 * fault is an infrastructure error, never a judgement).
 */
export async function startJudging(
  config: ResolvedConfig,
  name: string,
  model: string | undefined,
  deps: { probe: VersionProbe; redactor: Redactor; emit: EventSink; signal: AbortSignal },
): Promise<Judging> {
  const adapter = harnessAdapter(name, config.harnesses);
  if (!adapter) throw new UsageError(`--judge ${name}: no such harness (built in, or in bench.config.ts)`);
  if (adapter.requiresModel && !model)
    throw new UsageError(`--judge ${name}: give the judge's model, --judge-model`);
  const cliVersion = adapter.versionCommand
    ? await deps.probe.version(adapter.versionCommand)
    : 'unversioned';
  if (cliVersion === undefined)
    throw new UsageError(`--judge ${name}: its CLI does not run here (${adapter.versionCommand?.join(' ')})`);
  const gateway: Gateway | undefined = adapter.gateway
    ? await (await import('./gateway/server.js')).Gateway.start({
        retryWindowMs: config.retryWindowMs,
        budgetUsd: config.budget,
        prices: config.prices,
        socket: false,
        emit: deps.emit,
      })
    : undefined;
  const tokens = tokenVariables(config);
  const run = async (sandbox: string, prompt: string, log: string, tag: string): Promise<JudgeRan> => {
    const lease = await leaseFor(adapter, gateway, deps.signal);
    try {
      const baseUrl = lease && gateway ? `${gateway.url}${basePathOf(lease.route.family)}` : undefined;
      const judge = baseUrl ? viaGateway(adapter, baseUrl) : adapter;
      const access = lease && { capability: lease.capability, baseUrl };
      const env = harnessEnv({ adapter: judge, model, variant: undefined }, tokens, 'lite', access);
      const output = await HarnessOutput.open(deps.redactor, { log, transcript: undefined }, undefined);
      const started = Date.now();
      const stop = lease?.stopped ?? new AbortController().signal;
      let ran: Awaited<ReturnType<typeof runOnHost>>;
      try {
        ran = await runOnHost(
          {
            adapter: judge,
            model,
            variant: undefined,
            wrapperPrompt: prompt,
            env,
            attemptTag: tag,
            timeoutMs: config.timeoutMs,
            onSpawn: async () => {},
          },
          sandbox,
          output,
          deps.signal,
          stop,
        );
      } finally {
        await output.close();
      }
      if (output.failure) throw output.failure;
      // Stopped for a fault of the API: no judgement came of it.
      if (lease?.fault) throw modelApiError(lease.fault);
      return { exitCode: ran.exitCode, timedOut: ran.timedOut, durationMs: Date.now() - started };
    } finally {
      lease?.release();
    }
  };
  return {
    spec: { harness: adapter.name, model, modelId: modelId(adapter.name, model), cliVersion },
    judging: { run },
    close: async () => gateway?.close(),
  };
}
