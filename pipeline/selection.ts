import type { RunLog } from './run-log.js';

/**
 * What a run, plan or graph is asked to make: benchmarks, harness x model x variant lines, how
 * many attempts, what to rerun. The CLI's flags become one in commands/selection.ts.
 */

export type RerunWhat = 'failed' | 'timed-out' | 'stale';

/** Where an attempt's model came from. */
export type ModelSource = RunLog['model']['source'];

/** What the user asked for: the CLI flags of run, plan and graph. */
export interface Selection {
  benchmarks: string[];
  harnesses: string[];
  model: string | undefined;
  variants: string[];
  attempts: number | undefined;
  more: number | undefined;
  rerun: RerunWhat[];
  mode: 'lite' | 'docker' | undefined;
  /**
   * Exact harness x model x variant lines instead of the product of the flags above; `status`
   * uses it to recompute the keys of recorded attempts. Models here are taken as given.
   */
  lines?: {
    harness: string;
    model: string | undefined;
    variant: string | undefined;
    /** Where the model came from, when it is known (a rerun repeats the record's). */
    modelSource?: ModelSource;
  }[];
  /** docker: run this image digest instead of the one in runner.lock.yaml (`rerun`). */
  digest?: string;
}

/** A whole benchmark as its manifest allows it (every allowed harness, default models), with `more` on top. */
export function benchmarkSelection(slug: string, more: Partial<Selection> = {}): Selection {
  return {
    benchmarks: [slug],
    harnesses: [],
    model: undefined,
    variants: [],
    attempts: undefined,
    more: undefined,
    rerun: [],
    mode: undefined,
    ...more,
  };
}
