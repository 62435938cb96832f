import type { TranscriptSummary } from '../tasks/harnesses/transcript.js';
import type { Outcome } from './events.js';
import type { GatewayUsage } from './gateway/server.js';
import type { Preimage } from './keys.js';

/** Bump when the shape of run-log.json changes; it is part of the write-run-log key. */
export const RUN_LOG_FORMAT = 1;

/** Everything a reader of an attempt needs; run-log.md renders the same data for people. */
export interface RunLog {
  format: number;
  benchmark: { name: string; displayName: string };
  stateMode: 'greenfield' | 'brownfield';
  baselineSource: string;
  model: {
    id: string;
    displayName: string;
    /** The value passed as --model, or `<vendor-default>`. */
    value: string;
    /** Where the model came from: the --model flag, runner.yaml defaults, or the vendor default. */
    source: 'flag' | 'runner.yaml' | 'vendor-default';
  };
  harness: { name: string; displayName: string; cliVersion: string; argv: string[] };
  variant: string | null;
  mode: 'lite' | 'docker';
  image: string | null;
  imageDigest: string;
  /** docker mode: the engine that ran the container (`Docker 28.2.2 (API 1.50), linux/amd64`). */
  engine: string | null;
  /** docker mode: the runtime image the harness came from (by digest), when it is not the benchmark image. */
  runtime: string | null;
  hostRuntimes: Record<string, string>;
  attempt: number;
  runId: string;
  workspace: { path: string; kept: boolean };
  startedAt: string;
  endedAt: string;
  durationMs: number;
  outcome: Outcome;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  timeoutMs: number;
  visibleInputs: string[];
  isolationDeviations: string[];
  /**
   * lite: what changed in the benchmark package (outside .pipeline/, eval-attempts/ and
   * eval-results/) and what appeared in eval-attempts/ without this tool publishing it, while the
   * harness ran. With attempts of the benchmark running at the same time, each of them records it,
   * naming the others. Absent where it is not watched (docker: the package is out of reach).
   */
  isolationBreaches?: string[];
  logLimitations: string[];
  /** From the CLI's transcript (transcript.jsonl): turns, tool calls, tokens, cost, final status. */
  summary: TranscriptSummary | null;
  /**
   * The model traffic as the gateway measured it, the same way for every CLI (beside `summary`,
   * the CLI's own figures); `used: false` when the harness talked to its API directly. Absent in
   * run-logs written before the gateway.
   */
  gateway?: ({ used: true } & GatewayUsage) | { used: false; why: string };
  /** The attempt key and its preimage: compare with today's to see why an attempt is stale. */
  key: string;
  preimage: Preimage;
}

const row = (field: string, value: string | number | boolean | null) =>
  `| ${field} | ${String(value ?? '-').replaceAll('|', '\\|')} |`;

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
  row('temp_workspace', `${log.workspace.path}${log.workspace.kept ? '' : ' (removed by --clean)'}`),
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
