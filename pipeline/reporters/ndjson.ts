import type { Redactor } from '../redact.js';
import type { Output, Reporter } from './reporter.js';

/** `--json`: one event per line, for machines. */
export function ndjsonReporter(out: Output, redactor: Redactor): Reporter {
  return {
    onEvent: (event) => out.write(`${redactor.redact(JSON.stringify(event))}\n`),
    close: () => {},
  };
}
