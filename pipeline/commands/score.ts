import { relative } from 'node:path';
import { loadConfig } from '../config.js';
import { connectEngine, engineAddress } from '../docker.js';
import { UsageError } from '../errors.js';
import type { PipelineEvent } from '../events.js';
import { Executor } from '../executor.js';
import { describeFailure } from '../failures.js';
import { buildScoreGraph, type ScoreNode } from '../graph.js';
import { configRedactor } from '../harness-env.js';
import { type Judging, startJudging } from '../judging.js';
import { reapDeadMarkers, reapDeadTemps, STAGING_NAME } from '../markers.js';
import { VersionProbe } from '../probe.js';
import { plainLine } from '../reporters/plain.js';
import { newRunId } from '../run.js';
import { buildScorePlan } from '../score-plan.js';
import { scoreStep } from '../score-steps.js';
import { NodeStore } from '../state.js';
import type { ParsedArgs } from './options.js';
import { positiveInt } from './selection.js';

/**
 * `score`: every complete attempt selected gets its score in eval-results/, made only where it is
 * missing or stale. Prints a line per attempt scored and a summary; `--json` prints one object.
 * Exit 0 when every selected attempt has a score of today's key, 1 when a check could not run.
 */
export async function scoreCommand({ values, positionals }: ParsedArgs<'score'>): Promise<number> {
  const config = await loadConfig(values.config);
  if (values['judge-model'] !== undefined && values.judge === undefined)
    throw new UsageError('--judge-model: give the judge too, --judge <harness>');
  const redactor = configRedactor(config);
  const json = values.json ?? false;
  const say = (line: string) => {
    if (!json) process.stdout.write(`${redactor.redact(line)}\n`);
  };
  const scored = new Set<string>();
  const failures = new Map<string, string>();
  const waited = new Set<string>();
  const emit = (event: PipelineEvent) => {
    if (event.type === 'node-failed') failures.set(event.node.id, describeFailure(event.failure));
    if (event.type === 'attempt-scored' && event.result !== 'elsewhere') scored.add(event.node.id);
    const line = plainLine(event, waited);
    if (line !== undefined) say(line);
  };
  const controller = new AbortController();
  const onSignal = () => {
    if (controller.signal.aborted) process.exit(1);
    process.stderr.write('\nbench-pipeline: stopping the running checks (again to quit at once)\n');
    controller.abort();
  };
  let judge: Judging | undefined;
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    judge = values.judge
      ? await startJudging(config, values.judge, values['judge-model'], {
          probe: await new VersionProbe().load(),
          redactor,
          emit,
          signal: controller.signal,
        })
      : undefined;
    const plan = await buildScorePlan(
      config,
      { benchmarks: positionals, harness: values.harness, model: values.model, variant: values.variant },
      judge?.spec,
    );
    const graph = buildScoreGraph(plan);
    const nodes = graph.nodes as ScoreNode[];
    const todo = nodes.filter((n) => n.action !== 'skip');
    const engine = todo.some((n) => n.input.score?.input.mode === 'docker')
      ? await connectEngine(engineAddress(config.docker.host))
      : undefined;
    const byBench = new Map(plan.benchmarks.map((b) => [b.bench.slug, b]));
    // What a killed `score` left: its markers, and the staging directories they name.
    for (const b of plan.benchmarks) {
      await reapDeadMarkers(b.paths);
      await reapDeadTemps([b.paths.staging], STAGING_NAME);
    }
    const runId = newRunId();
    const context = { runId, engine, emit, signal: controller.signal, judging: judge?.judging };
    await new Executor({
      emit,
      storeOf: (benchmark) => new NodeStore(byBench.get(benchmark)!.paths, redactor),
      redactorOf: () => redactor,
      stepOf: (node) => scoreStep(node as ScoreNode, context, () => undefined),
    }).execute(graph, {
      concurrency: positiveInt('concurrency', values.concurrency) ?? config.concurrency,
      signal: controller.signal,
      skip: (node) => (node as ScoreNode).action === 'skip',
    });
    const summary = {
      runId,
      scored: scored.size,
      alreadyScored: nodes.length - todo.length,
      failed: failures.size,
      attempts: nodes.map((n) => ({
        benchmark: n.benchmark,
        attempt: n.attempt,
        state: failures.has(n.id) ? 'failed' : scored.has(n.id) ? 'done' : n.state,
        why:
          failures.get(n.id) ?? (scored.has(n.id) && n.state === 'stale' ? `scored again: ${n.why}` : n.why),
        dir: n.input.score && relative(process.cwd(), n.input.score.target),
        key: n.key,
      })),
    };
    if (json) process.stdout.write(`${redactor.redact(JSON.stringify(summary, null, 2))}\n`);
    else {
      say(
        `score ${runId}: ${scored.size} scored, ${summary.alreadyScored} already scored, ${failures.size} failed ` +
          `(${nodes.length} complete attempts selected)`,
      );
      for (const b of plan.benchmarks)
        if (b.scores.length) say(`results: ${relative(process.cwd(), b.results)}`);
    }
    return failures.size || controller.signal.aborted ? 1 : 0;
  } finally {
    await judge?.close();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
