/**
 * The task types of the graph. In a module of its own, below both task.ts (the tasks) and
 * events.ts (the events that name them), so neither imports the other.
 */
export type TaskName =
  | 'resolve-image'
  | 'pin-digest'
  | 'seed-workspace'
  | 'run-harness'
  | 'collect'
  | 'write-run-log'
  /** docker: a harness runtime image, extracted to be mounted into the attempts' containers. */
  | 'mount-runtime';
