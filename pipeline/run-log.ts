import { join } from 'node:path';
import { z } from 'zod';
import type { TranscriptSummary } from '../tasks/harnesses/transcript.js';
import type { Outcome } from './events.js';
import { unreachable } from './failures.js';
import type { GatewayUsage } from './gateway/server.js';
import { preimageSchema } from './keys.js';
import type { Benchmark } from './manifest.js';
import { readStored, type Stored } from './stored.js';

/** Bump when the shape of run-log.json changes; it is part of the write-run-log key. */
export const RUN_LOG_FORMAT = 1;

export const outcomeSchema = z.enum(['succeeded', 'failed', 'timed-out']) satisfies z.ZodType<Outcome>;

/** The CLI's own figures (see TranscriptSummary), as run-log.json and the attempt index hold them. */
export const summarySchema = z.object({
  turns: z.number().nullable(),
  toolCalls: z.number(),
  inputTokens: z.number().nullable(),
  outputTokens: z.number().nullable(),
  costUsd: z.number().nullable(),
  status: z.string(),
}) satisfies z.ZodType<TranscriptSummary>;

/** The gateway's measure of an attempt (see GatewayUsage), or why it was not used. */
export const gatewayRecordSchema = z.discriminatedUnion('used', [
  z.object({
    used: z.literal(true),
    upstream: z.string(),
    keyEnv: z.string(),
    requests: z.number(),
    retries: z.number(),
    faults: z.number(),
    inputTokens: z.number(),
    outputTokens: z.number(),
    cacheReadTokens: z.number(),
    cacheWriteTokens: z.number(),
    modelWaitMs: z.number(),
    costUsd: z.number().nullable(),
    costSources: z.array(z.string()),
    unpriced: z.array(z.string()),
    models: z.array(z.string()),
  }) satisfies z.ZodType<{ used: true } & GatewayUsage>,
  z.object({ used: z.literal(false), why: z.string() }),
]);

/**
 * run-log.json: everything a reader of an attempt needs; run-log.md renders the same data for
 * people. It accepts every run-log this tool has written: fields added since (engine, runtime,
 * summary, isolationBreaches, gateway) may be absent, and read as they would have been then.
 * Fields it does not know (from a newer version) are dropped, not refused.
 */
export const runLogSchema = z.object({
  format: z.number().int().positive(),
  benchmark: z.object({ name: z.string().min(1), displayName: z.string() }),
  stateMode: z.enum(['greenfield', 'brownfield']),
  baselineSource: z.string(),
  model: z.object({
    id: z.string().min(1),
    displayName: z.string(),
    /** The value passed as --model, or `<vendor-default>`. */
    value: z.string(),
    /** Where the model came from: the --model flag, runner.yaml defaults, or the vendor default. */
    source: z.enum(['flag', 'runner.yaml', 'vendor-default']),
  }),
  harness: z.object({
    name: z.string().min(1),
    displayName: z.string(),
    cliVersion: z.string(),
    argv: z.array(z.string()),
  }),
  variant: z.string().nullable(),
  mode: z.enum(['lite', 'docker']),
  image: z.string().nullable(),
  imageDigest: z.string(),
  /** docker mode: the engine that ran the container (`Docker 28.2.2 (API 1.50), linux/amd64`). */
  engine: z.string().nullable().default(null),
  /** docker mode: the runtime image the harness came from (by digest), when it is not the benchmark image. */
  runtime: z.string().nullable().default(null),
  hostRuntimes: z.record(z.string(), z.string()),
  attempt: z.number().int().positive(),
  runId: z.string().min(1),
  /**
   * The attempt's temp workspace; `kept`: whether anything of it is left at `path` for the user
   * to remove. `left`, where collect moved the workspace's files into the attempt (absent in
   * run-logs written before then, when a kept workspace was all of it, and after a manual
   * collect, which copies): what became of the rest, what was not collected: `kept` at `path`;
   * `nothing` (there was none, and the emptied directory is gone); `removed` by --clean.
   */
  workspace: z.object({
    path: z.string(),
    kept: z.boolean(),
    left: z.enum(['kept', 'nothing', 'removed']).optional(),
  }),
  startedAt: z.string(),
  endedAt: z.string(),
  durationMs: z.number(),
  outcome: outcomeSchema,
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  timedOut: z.boolean(),
  timeoutMs: z.number(),
  visibleInputs: z.array(z.string()),
  isolationDeviations: z.array(z.string()),
  /**
   * lite: what changed in the benchmark package (outside .pipeline/, eval-attempts/ and
   * eval-results/) and what appeared in eval-attempts/ without this tool publishing it, while the
   * harness ran. With attempts of the benchmark running at the same time, each of them records it,
   * naming the others. Absent where it is not watched (docker: the package is out of reach).
   */
  isolationBreaches: z.array(z.string()).optional(),
  logLimitations: z.array(z.string()),
  /** From the CLI's transcript (transcript.jsonl): turns, tool calls, tokens, cost, final status. */
  summary: summarySchema.nullable().default(null),
  /**
   * The model traffic as the gateway measured it, the same way for every CLI (beside `summary`,
   * the CLI's own figures); `used: false` when the harness talked to its API directly. Absent in
   * run-logs written before the gateway, and in those of manual harnesses.
   */
  gateway: gatewayRecordSchema.optional(),
  /** The attempt key and its preimage: compare with today's to see why an attempt is stale. */
  key: z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 key (64 hex digits)'),
  preimage: preimageSchema,
});

export type RunLog = z.output<typeof runLogSchema>;

export const runLogPath = (attemptDir: string) => join(attemptDir, 'run-log.json');

/** What of a run-log its package decides, the same for every attempt of it. */
type PackageFields = 'format' | 'benchmark' | 'stateMode' | 'image';

/** The run-log of an attempt of `bench`: the fields of its package, then the attempt's own. */
export function runLogOf(bench: Benchmark, own: Omit<RunLog, PackageFields>): RunLog {
  const { manifest } = bench;
  return {
    format: RUN_LOG_FORMAT,
    benchmark: { name: bench.slug, displayName: manifest.display_name ?? bench.slug },
    stateMode: manifest.state_mode,
    image: manifest.image ?? null,
    ...own,
  };
}

/** The run-log.json of an attempt directory, or why there is none to read. */
export function readRunLog(attemptDir: string): Promise<Stored<RunLog>> {
  return readStored(runLogPath(attemptDir), runLogSchema);
}

const row = (field: string, value: string | number | boolean | null) =>
  `| ${field} | ${String(value ?? '-').replaceAll('|', '\\|')} |`;

/** Where the workspace is, and what of it is there (see `workspace` in the schema). */
function workspaceRow({ path, kept, left }: RunLog['workspace']): string {
  switch (left) {
    case undefined:
      return `${path}${kept ? '' : ' (removed by --clean)'}`;
    case 'kept':
      return `files moved into the attempt; what was not collected is kept at ${path}`;
    case 'nothing':
      return `files moved into the attempt from ${path}; nothing was left there`;
    case 'removed':
      return `files moved into the attempt from ${path}; what was not collected removed by --clean`;
    default:
      return unreachable(left);
  }
}

export function renderRunLogMarkdown(log: RunLog): string {
  const runtimes =
    Object.entries(log.hostRuntimes)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ') || 'none found';
  const list = (items: string[]) => (items.length ? items.map((i) => `- ${i}`).join('\n') : '- none');
  return `# ${log.benchmark.displayName}: ${log.model.id} attempt ${log.attempt}

| field | value |
| --- | --- |
${[
  row('benchmark', log.benchmark.name),
  row('display_name', log.benchmark.displayName),
  row('state_mode', log.stateMode),
  row('baseline_source', log.baselineSource),
  row('model_id', log.model.id),
  row('model_display_name', log.model.displayName),
  row('harness', log.harness.name),
  row('--model', log.model.value),
  row('model_source', log.model.source),
  row('variant', log.variant),
  row('mode', log.mode),
  row('image', log.image),
  row('image_digest', log.imageDigest),
  row('engine', log.engine),
  row('harness_runtime', log.runtime),
  row('host_runtimes', runtimes),
  row('harness_cli_version', log.harness.cliVersion),
  row('attempt', log.attempt),
  row('run_id', log.runId),
  row('temp_workspace', workspaceRow(log.workspace)),
  row('start', log.startedAt),
  row('end', log.endedAt),
  row('duration_ms', log.durationMs),
  row('outcome', log.outcome),
  row('exit_code', log.exitCode),
  row('signal', log.signal),
  row('timed_out', log.timedOut),
  row('timeout_ms', log.timeoutMs),
  row('turns', log.summary?.turns ?? null),
  row('tool_calls', log.summary?.toolCalls ?? null),
  row('input_tokens', log.summary?.inputTokens ?? null),
  row('output_tokens', log.summary?.outputTokens ?? null),
  row('cost_usd', log.summary?.costUsd ?? null),
  row('final_status', log.summary?.status ?? null),
  ...gatewayRows(log.gateway),
  row('attempt_key', log.key),
].join('\n')}

## Visible inputs copied

${list(log.visibleInputs)}

## isolation_deviations

${list(log.isolationDeviations)}

## isolation_breaches

${log.isolationBreaches ? list(log.isolationBreaches) : '- not watched'}

## log_limitations

${list(log.logLimitations)}

## Harness invocation

\`\`\`
${log.harness.argv.map((a) => JSON.stringify(a)).join(' ')}
\`\`\`
`;
}

/** The gateway's figures in run-log.md: measured on the wire, so comparable across CLIs. */
function gatewayRows(g: RunLog['gateway']): string[] {
  if (!g) return [];
  if (!g.used) return [row('gateway', `not used: ${g.why}`)];
  return [
    row('gateway', `used: ${g.upstream} with ${g.keyEnv}`),
    row('gateway_requests', g.requests),
    row('gateway_retries', g.retries),
    row('gateway_faults', g.faults),
    row('gateway_input_tokens', g.inputTokens),
    row('gateway_output_tokens', g.outputTokens),
    row('gateway_cache_read_tokens', g.cacheReadTokens),
    row('gateway_cache_write_tokens', g.cacheWriteTokens),
    row('gateway_model_wait_ms', g.modelWaitMs),
    row(
      'gateway_cost_usd',
      g.costUsd === null ? `unknown (no price for ${g.unpriced.join(', ')})` : g.costUsd.toFixed(6),
    ),
    row('gateway_cost_source', g.costSources.join('; ') || null),
  ];
}
