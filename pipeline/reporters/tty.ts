import { formatDuration } from '../duration.js';
import type { AttemptRef, PipelineEvent } from '../events.js';
import type { Redactor } from '../redact.js';
import { plainLine } from './plain.js';
import type { Output, Reporter } from './reporter.js';

/** At most this many redraws a second. */
const FPS = 10;

/**
 * The live view: finished events scroll above, and below them a block that is redrawn in place:
 * one line per running attempt with its elapsed time, then done / running / queued counts.
 */
export function ttyReporter(
  out: Output,
  redactor: Redactor,
  columns = () => process.stdout.columns || 100,
): Reporter {
  const running = new Map<string, { ref: AttemptRef; since: number }>();
  const waited = new Set<string>();
  let total = 0;
  let finished = 0;
  let drawn = 0;
  let timer: NodeJS.Timeout | undefined;

  const clear = () => {
    if (drawn > 0) out.write(`\x1b[${drawn}A\x1b[0J`);
    drawn = 0;
  };
  const draw = () => {
    const width = columns();
    const now = Date.now();
    const lines = [...running.values()].map(({ ref, since }) =>
      `  ⏵ ${ref.benchmark}/${ref.name}  ${formatDuration(now - since)}`.slice(0, width - 1),
    );
    const queued = Math.max(0, total - finished - running.size);
    lines.push(`  ${finished} done, ${running.size} running, ${queued} queued`);
    clear();
    out.write(`${lines.join('\n')}\n`);
    drawn = lines.length;
  };

  return {
    onEvent(event: PipelineEvent) {
      switch (event.type) {
        case 'run-start':
          total = event.toRun;
          if (total > 0) timer = setInterval(draw, 1000 / FPS);
          break;
        case 'attempt-start':
          running.set(event.attempt.name + event.attempt.benchmark, { ref: event.attempt, since: event.at });
          break;
        case 'attempt-end':
          running.delete(event.result.attempt.name + event.result.attempt.benchmark);
          finished++;
          break;
        case 'attempt-error':
          running.delete(event.attempt.name + event.attempt.benchmark);
          finished++;
          break;
        case 'attempt-retry':
          running.delete(event.attempt.name + event.attempt.benchmark);
          break;
        case 'run-end':
          if (timer) clearInterval(timer);
          timer = undefined;
          break;
        default:
          break;
      }
      const line = plainLine(event, waited);
      if (line === undefined) return;
      clear();
      out.write(`${redactor.redact(line)}\n`);
      if (timer) draw();
    },
    close() {
      if (timer) clearInterval(timer);
      timer = undefined;
    },
  };
}
