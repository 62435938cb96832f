import type { EventSink, NodeRef } from './events.js';
import type { Failure } from './failures.js';
import type { Graph, GraphNode } from './graph.js';
import type { NodeKey } from './keys.js';
import type { Redactor } from './redact.js';
import { Scheduler, type SchedulerNode } from './scheduler.js';
import type { NodeStore } from './state.js';
import type { TaskContext, TaskName } from './task.js';

/**
 * How one node of the graph runs. The executor does the rest, the same way for every node: the
 * key, the lookup, the task context, the record, the events, and a throw made a Failure (by the
 * scheduler, at one place).
 */
export interface Step<O = unknown> {
  /** Its key, now that its deps' outputs exist; undefined where only its output names it. */
  key(): NodeKey | undefined;
  /**
   * A valid output from before, or undefined to run. Default: the output in the node record of
   * its key; `false`: never looked up (its output lives elsewhere, or follows a run just made).
   */
  lookup?: false | ((key: NodeKey | undefined) => Promise<{ output: O } | undefined>);
  /** Does the task's work; `context(key)` is the task context, built by the executor. */
  run(context: (key: NodeKey) => TaskContext): Promise<O>;
  /** The key of an output whose node had none before it ran (pin-digest of an image not pinned yet). */
  keyOf?(output: O): NodeKey;
  /** What of the output its record keeps (default all of it). */
  record?(output: O): unknown;
  /** false: no record (the output lives elsewhere: an attempt in eval-attempts/, an extracted runtime). */
  stored?: false;
  /** The node failed or could not run: undo what it started. */
  onFailed?(failure: Failure): Promise<void>;
}

/** What a node's step may read: the outputs of the nodes it depends on, by id. */
export type Outputs = (id: string) => unknown;

/** Among ready nodes, higher runs first (others 0): finishing an attempt beats starting a new one. */
const PRIORITY: Partial<Record<TaskName, number>> = { 'run-harness': 1, collect: 2, 'write-run-log': 3 };

/** Run even after cancellation: they only save a result that already exists. */
const FINISHING = new Set<TaskName>(['collect', 'write-run-log']);

export interface ExecutorOptions {
  /**
   * The step of a node. Made when the node runs, or fails without running; so `outputs` is read
   * only in the step's key, lookup and run, once the deps have run.
   */
  stepOf(node: GraphNode, outputs: Outputs): Step;
  /** A benchmark's node store. */
  storeOf(benchmark: string): NodeStore;
  /** Masks what a node's task writes and prints. */
  redactorOf(node: GraphNode): Redactor;
  emit: EventSink;
}

/**
 * Runs a graph: every node once, after the nodes it depends on, at most `concurrency` at a time
 * (the Scheduler). For each node: its key, once its upstream outputs exist; a valid earlier
 * output, if any (then it is done); else its task, whose output is recorded temp-then-rename in
 * its benchmark's store. Nodes for which `skip` says so are left out (what the plan already found
 * complete).
 */
export class Executor {
  readonly #outputs = new Map<string, unknown>();

  constructor(private readonly options: ExecutorOptions) {}

  /** Resolves once every node has run, failed or been cancelled; each failure is reported by event. */
  async execute(
    graph: Graph,
    {
      concurrency,
      signal,
      skip,
    }: { concurrency: number; signal: AbortSignal; skip(node: GraphNode): boolean },
  ): Promise<void> {
    const byId = new Map<string, SchedulerNode>();
    const roots: SchedulerNode[] = [];
    for (const node of graph.nodes) {
      if (skip(node)) continue;
      const scheduled = this.#schedule(node, byId, signal);
      byId.set(node.id, scheduled);
      roots.push(scheduled);
    }
    await new Scheduler(concurrency, signal, this.options.emit).execute(roots);
  }

  #schedule(node: GraphNode, byId: Map<string, SchedulerNode>, signal: AbortSignal): SchedulerNode {
    const outputs: Outputs = (id) => {
      if (!this.#outputs.has(id)) throw new Error(`${node.id} read ${id}, which has not run`);
      return this.#outputs.get(id);
    };
    let step: Step | undefined;
    const stepOf = () => {
      step ??= this.options.stepOf(node, outputs);
      return step;
    };
    const ref: NodeRef = {
      id: node.id,
      task: node.task,
      benchmark: node.benchmark,
      ...('attempt' in node && { attempt: node.attempt }),
    };
    return {
      ref,
      // Every dep is scheduled before its dependents: the graph lists nodes in that order.
      deps: node.deps.flatMap((d) => byId.get(d) ?? []),
      priority: PRIORITY[node.task] ?? 0,
      finishing: FINISHING.has(node.task),
      run: async () => {
        const s = stepOf();
        const { cached, output } = await this.#runStep(node, s, signal);
        this.#outputs.set(node.id, output);
        return cached;
      },
      // Also for a node that never ran (its dependency failed): an attempt is reported either way.
      onFailed: (failure) => stepOf().onFailed?.(failure) ?? Promise.resolve(),
    };
  }

  async #runStep(node: GraphNode, step: Step, signal: AbortSignal) {
    const { storeOf, redactorOf, emit } = this.options;
    const store = storeOf(node.benchmark);
    const key = step.key();
    if (step.lookup !== false) {
      const hit = step.lookup
        ? await step.lookup(key)
        : key && (await store.get(node.task, key.key).then((r) => r && { output: r.output }));
      if (hit) return { cached: true, output: hit.output };
    }
    const redactor = redactorOf(node);
    const output = await step.run((k) => ({ key: k, signal, emit, redactor }));
    const recorded = key ?? step.keyOf?.(output);
    if (step.stored !== false && recorded)
      await store.set(node.task, recorded, step.record ? step.record(output) : output);
    return { cached: false, output };
  }
}
