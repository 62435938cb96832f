/**
 * The task types of the graph. In a module of its own, below both task.ts (the tasks) and
 * events.ts (the events that name them), so neither imports the other.
 */
export const TASK_NAMES = [
  'resolve-image',
  'pin-digest',
  'seed-workspace',
  /** docker: a harness runtime image, extracted to be mounted into the attempts' containers. */
  'mount-runtime',
  'run-harness',
  'collect',
  'write-run-log',
  /** Downstream of a complete attempt: its checks run, its score published to eval-results/. */
  'score-attempt',
] as const;

export type TaskName = (typeof TASK_NAMES)[number];
