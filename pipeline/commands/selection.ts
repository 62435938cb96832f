import { UsageError } from '../errors.js';
import type { RerunWhat, Selection } from '../selection.js';

interface SelectionFlags {
  harness?: string[];
  model?: string;
  variant?: string[];
  attempts?: string;
  more?: string;
  mode?: string;
  rerun?: string[];
}

export function positiveInt(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[1-9][0-9]*$/.test(value))
    throw new UsageError(`--${flag} ${value}: must be a positive whole number`);
  return Number(value);
}

/** `--retries N`: 0 or more. */
export function retriesFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^[0-9]+$/.test(value) || Number(value) > 20)
    throw new UsageError(`--retries ${value}: must be a whole number from 0 to 20`);
  return Number(value);
}

/** `--max-cost USD`: a positive amount of dollars (`5`, `2.50`, `$10`). */
export function maxCostFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const usd = Number(value.replace(/^\$/, ''));
  if (!/^\$?\d+(\.\d+)?$/.test(value) || !(usd > 0))
    throw new UsageError(`--max-cost ${value}: must be an amount of US dollars above 0, such as 5 or 2.50`);
  return usd;
}

const RERUN: readonly RerunWhat[] = ['failed', 'timed-out', 'stale'];

/**
 * The most attempts `--attempts` or `--more` may ask of one harness x model x variant at once:
 * far beyond any sensible batch, and small enough to plan in a moment.
 */
const MAX_ATTEMPTS_PER_LINE = 10_000;

function attemptCount(flag: string, value: string | undefined): number | undefined {
  const n = positiveInt(flag, value);
  if (n !== undefined && n > MAX_ATTEMPTS_PER_LINE) {
    throw new UsageError(
      `--${flag} ${value}: at most ${MAX_ATTEMPTS_PER_LINE} attempts per harness, model and variant in one invocation`,
    );
  }
  return n;
}

/** The selection flags of run, plan and graph, checked. */
export function selectionFrom(positionals: string[], flags: SelectionFlags): Selection {
  const mode = flags.mode;
  if (mode !== undefined && mode !== 'docker' && mode !== 'lite')
    throw new UsageError(`--mode ${mode}: must be docker or lite`);
  const rerun = (flags.rerun ?? []).flatMap((r) => r.split(','));
  for (const r of rerun) {
    if (!RERUN.includes(r as RerunWhat))
      throw new UsageError(`--rerun ${r}: must be one of ${RERUN.join(', ')}`);
  }
  const attempts = attemptCount('attempts', flags.attempts);
  const more = attemptCount('more', flags.more);
  if (attempts !== undefined && more !== undefined) {
    throw new UsageError(
      '--attempts and --more do not combine: --attempts N fills 1..N, --more K adds K new attempts',
    );
  }
  return {
    benchmarks: positionals,
    harnesses: flags.harness ?? [],
    model: flags.model,
    variants: flags.variant ?? [],
    attempts,
    more,
    rerun: rerun as RerunWhat[],
    mode,
  };
}
