/** What `report` computes from disk, the one value every format renders (table, CSV, JSON, HTML). */

export const REPORT_SCHEMA = 'bench-pipeline/report';
export const REPORT_VERSION = 1;

/** A mean with its spread: min-max of the values and a 95% bootstrap interval of the mean. */
export interface Estimate {
  n: number;
  mean: number;
  min: number;
  max: number;
  ci: [number, number];
}

/** Tokens and cost of some attempts; `source` says whose figures: the gateway's, the CLI's, or both. */
export interface Usage {
  inputTokens: number | null;
  outputTokens: number | null;
  costUsd: number | null;
  source: 'gateway' | 'cli' | 'mixed' | 'none';
}

export interface AttemptScoreRow {
  criterion: string;
  score: number | null;
  max: number;
  notes: string;
  /** A path relative to the attempt's results directory, or a note. */
  evidence: string;
}

/** One attempt directory of a group (or one asked for and still missing). */
export interface ReportAttempt {
  benchmark: string;
  modelId: string;
  n: number;
  /** complete: a published attempt; missing: asked for and not there (see why); invalid: no valid run-log. */
  state: 'complete' | 'missing' | 'invalid';
  outcome: 'succeeded' | 'failed' | 'timed-out' | null;
  /** The attempt's key is not today's (see why). */
  stale: boolean;
  why: string;
  exitCode: number | null;
  durationMs: number | null;
  runId: string | null;
  mode: string | null;
  imageDigest: string | null;
  usage: Usage;
  score: {
    state: 'done' | 'missing' | 'stale';
    why: string;
    /** Points of the rows scored, of the Max of those rows, and of every row. */
    total: number;
    scoredMax: number;
    max: number;
    /** total / scoredMax: the unscored rows count neither way. */
    fraction: number;
    unscored: string[];
    /** Known pass or fail at the threshold (it may be unknown while rows are unscored). */
    pass: boolean | null;
    rows: AttemptScoreRow[];
  } | null;
  /** Whether it counts in the group's means: a done score, neither it nor the attempt stale (unless --include-stale). */
  counted: boolean;
  /** Paths relative to the report's own location (its --out directory, else the working directory). */
  links: { label: string; href: string }[];
}

/** One benchmark x model-id (a model-id holds the harness, model and variant). */
export interface ReportGroup {
  benchmark: string;
  modelId: string;
  harness: string | null;
  model: string | null;
  variant: string | null;
  asked: number;
  complete: number;
  outcomes: { succeeded: number; failed: number; timedOut: number };
  missing: { n: number; why: string }[];
  invalid: number;
  staleAttempts: number;
  scores: { scored: number; unscored: number; stale: number; partial: number };
  /** Of the counted attempts' fractions; null when none counts. */
  score: Estimate | null;
  criteria: { criterion: string; max: number; n: number; mean: number | null }[];
  pass: {
    threshold: number;
    known: number;
    passed: number;
    at1: number | null;
    atK: number | null;
    k: number;
  };
  medianDurationMs: number | null;
  usage: Usage;
  /** Mean cost of a counted attempt, USD; null without cost figures. */
  costPerAttemptUsd: number | null;
  /** Cost of the counted attempts over the points they scored; null without cost or points. */
  costPerPointUsd: number | null;
  attempts: ReportAttempt[];
}

/** Two variants of one harness and model, their attempts paired by benchmark and index. */
export interface Comparison {
  harness: string;
  model: string | null;
  a: string;
  b: string;
  pairs: { benchmark: string; n: number; a: number; b: number; diff: number }[];
  /** Counted attempts of one variant whose counterpart has no counted score. */
  unpaired: { benchmark: string; variant: string; n: number; why: string }[];
  /** b - a, as fractions of max; null with too few pairs. */
  diff: Estimate | null;
  /** Two-sided exact sign test over the pairs that differ; null with too few pairs. */
  pValue: number | null;
  verdict: string;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  version: typeof REPORT_VERSION;
  generatedAt: string;
  includeStale: boolean;
  /** Per benchmark: its scorecard's max and why its scores could not be looked at, if so. */
  benchmarks: { benchmark: string; max: number | null; problem: string | null; recentErrors: string[] }[];
  groups: ReportGroup[];
  comparisons: Comparison[];
}
