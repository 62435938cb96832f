import { loadConfig, type ResolvedConfig } from '../config.js';
import { parseTimeout } from '../duration.js';
import { UsageError } from '../errors.js';
import { configRedactor } from '../harness-env.js';
import type { Redactor } from '../redact.js';
import { ndjsonReporter } from '../reporters/ndjson.js';
import { plainReporter } from '../reporters/plain.js';
import type { Reporter } from '../reporters/reporter.js';
import { ttyReporter } from '../reporters/tty.js';
import { exitCodeOf, type RunOptions, runPipeline } from '../run.js';
import type { ParsedArgs } from './options.js';
import { maxCostFlag, positiveInt, retriesFlag, selectionFrom } from './selection.js';

const stdout = { write: (text: string) => void process.stdout.write(text) };

export function pickReporter(json: boolean | undefined, redactor: Redactor): Reporter {
  if (json) return ndjsonReporter(stdout, redactor);
  return process.stdout.isTTY ? ttyReporter(stdout, redactor) : plainReporter(stdout, redactor);
}

export async function runCommand({ values, positionals }: ParsedArgs<'run'>): Promise<number> {
  const config = await loadConfig(values.config);
  const selection = selectionFrom(positionals, values);
  let timeoutMs: number | undefined;
  if (values.timeout !== undefined) {
    const timeout = parseTimeout(values.timeout);
    if ('problem' in timeout) throw new UsageError(`--timeout ${values.timeout}: ${timeout.problem}`);
    timeoutMs = timeout.ms;
  }
  const runId = values['run-id'];
  if (runId !== undefined && !/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(runId)) {
    throw new UsageError(`--run-id ${runId}: use letters, digits, '.', '_' and '-'`);
  }
  return runReported(
    config,
    {
      selection,
      runId,
      concurrency: positiveInt('concurrency', values.concurrency),
      timeoutMs,
      clean: values.clean ?? false,
      updateImage: values['update-image'] ?? false,
      build: values.build ?? false,
      retries: retriesFlag(values.retries),
      maxCostUsd: maxCostFlag(values['max-cost']),
      score: values.score ?? false,
    },
    values.json,
  );
}

/** Runs the pipeline with a reporter; the first SIGINT or SIGTERM cancels, the second quits. */
export async function runReported(
  config: ResolvedConfig,
  options: Omit<RunOptions, 'signal' | 'emit'>,
  json: boolean | undefined,
): Promise<number> {
  // The reporter prints lines of every attempt: every real token of the config (placeholders
  // are no mask patterns; see isSecretLike). What an attempt writes uses its harness's token only.
  const redactor = configRedactor(config);
  const reporter = pickReporter(json, redactor);
  // First signal: stop harnesses and leave state consistent. Second: leave now (the next run cleans up).
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) process.exit(1);
    process.stderr.write(`\nbench-pipeline: ${signal}: stopping running harnesses (again to quit at once)\n`);
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    const summary = await runPipeline(config, {
      ...options,
      signal: controller.signal,
      emit: (event) => reporter.onEvent(event),
    });
    return exitCodeOf(summary);
  } finally {
    reporter.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
