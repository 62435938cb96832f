import { formatDuration } from '../duration.js';
import type { PipelineEvent } from '../events.js';
import { describeExit, describeFailure } from '../failures.js';
import type { Redactor } from '../redact.js';
import type { Output, Reporter } from './reporter.js';
import { renderSummary } from './summary.js';

/** One line per event that matters, for CI logs and pipes. */
export function plainReporter(out: Output, redactor: Redactor): Reporter {
  const say = (line: string) => out.write(`${redactor.redact(line)}\n`);
  const waited = new Set<string>();
  return {
    onEvent(event: PipelineEvent) {
      const line = plainLine(event, waited);
      if (line !== undefined) say(line);
    },
    close: () => {},
  };
}

/** The plain-text line for an event, or undefined for events not worth a line. */
export function plainLine(event: PipelineEvent, waited: Set<string>): string | undefined {
  switch (event.type) {
    case 'run-start':
      return `run ${event.runId}: ${event.toRun} to run, ${event.alreadyDone} already done (concurrency ${event.concurrency})`;
    case 'attempt-start':
      return `start  ${event.attempt.benchmark}/${event.attempt.name}  workspace ${event.workspace}`;
    case 'attempt-end': {
      const r = event.result;
      const how = r.outcome === 'failed' ? `failed (${describeExit(r)})` : r.outcome.replace('-', ' ');
      return `done   ${r.attempt.benchmark}/${r.attempt.name}  ${how} in ${formatDuration(r.durationMs)}`;
    }
    case 'attempt-error': {
      // A refused key ends every attempt on it for one reason: said once, and again in the summary.
      const cause = describeFailure(event.failure);
      const refused = event.failure.reason === 'model-api' && event.failure.kind === 'refused';
      if (refused && waited.has(cause)) return undefined;
      if (refused) waited.add(cause);
      return `error  ${event.attempt.benchmark}/${event.attempt.name}  ${cause}`;
    }
    case 'attempt-retry':
      return `retry  ${event.attempt.benchmark}/${event.attempt.name}  ${describeFailure(event.failure)}; again in ${formatDuration(event.waitMs)} (retry ${event.retry} of ${event.of})`;
    case 'attempt-waiting': {
      const id = `${event.attempt.benchmark}/${event.attempt.name}`;
      if (waited.has(id)) return undefined;
      waited.add(id);
      return `wait   ${id}  running in another invocation (pid ${event.ownerPid})`;
    }
    case 'score-waiting': {
      const id = `${event.node.benchmark}/${event.node.attempt}`;
      if (waited.has(`score ${id}`)) return undefined;
      waited.add(`score ${id}`);
      return `wait   ${id}  being scored by another invocation (pid ${event.ownerPid})`;
    }
    case 'attempt-skipped':
      return event.why === 'completed-elsewhere'
        ? `skip   ${event.attempt.benchmark}/${event.attempt.name}  completed by another invocation`
        : undefined;
    case 'node-failed':
      // An attempt's failure is reported as the attempt's; a score's, unless its attempt failed.
      if (event.node.task === 'score-attempt')
        return event.failure.reason === 'dependency-failed'
          ? undefined
          : `error  ${event.node.benchmark}/${event.node.attempt}  score: ${describeFailure(event.failure)}`;
      return event.node.attempt ? undefined : `error  ${event.node.id}: ${describeFailure(event.failure)}`;
    case 'attempt-scored': {
      const shown = `${event.node.benchmark}/${event.node.attempt}`;
      if (event.result === 'elsewhere') return `score  ${shown}  scored by another invocation meanwhile`;
      const { total, max, unscored } = event.result;
      const byHand = unscored ? `, ${unscored} row${unscored === 1 ? '' : 's'} to score by hand` : '';
      return `score  ${shown}  ${total}/${max}${byHand}${event.again ? `; scored again: ${event.again}` : ''}`;
    }
    case 'cleanup':
      return `clean  ${event.benchmark}: ${event.message}`;
    case 'warning':
      return `warn   ${event.message}`;
    case 'progress':
      return `image  ${event.message}`;
    case 'run-end':
      return renderSummary(event.summary).trimEnd();
    case 'node-start':
    case 'node-done':
      return undefined;
  }
}
