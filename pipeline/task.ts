import type { PipelineEvent } from './events.js';
import { type NodeKey, nodeKey } from './keys.js';
import type { Redactor } from './redact.js';
import type { TaskName } from './task-name.js';

/** Re-exported: the engine's modules import them with the tasks' other types. */
export { TASK_NAMES, type TaskName } from './task-name.js';

/** What a running task may use from the engine. */
export interface TaskContext {
  /** The key of the node being run. */
  key: NodeKey;
  /** Aborted on SIGINT/SIGTERM: stop child processes, leave state consistent, then throw. */
  signal: AbortSignal;
  emit(event: PipelineEvent): void;
  redactor: Redactor;
}

/** The inputs of a key: parameters (each documented where the task defines them) and upstream keys. */
export interface KeyInputs {
  params: Record<string, unknown>;
  upstream: Record<string, string>;
}

/**
 * A typed task: its name and implementation version (bump it when the same inputs would now
 * produce a different output), the inputs of its key, and how it runs. `RunInput` adds what is
 * known only once upstream nodes have run (a seed's template, a harness's exit status).
 */
export interface TaskDefinition<Input, Output, RunInput extends Input = Input> {
  readonly name: TaskName;
  readonly version: number;
  keyInputs(input: Input): KeyInputs;
  run(input: RunInput, ctx: TaskContext): Promise<Output>;
}

export function taskKey<I>(
  task: Pick<TaskDefinition<I, unknown>, 'name' | 'version' | 'keyInputs'>,
  input: I,
): NodeKey {
  const { params, upstream } = task.keyInputs(input);
  return nodeKey(task, params, upstream);
}

/** Thrown by a task that stopped because its signal was aborted. */
export class CancelledError extends Error {
  constructor() {
    super('cancelled');
    this.name = 'CancelledError';
  }
}

export function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw new CancelledError();
}
