import { collect } from '../tasks/collect.js';
import { writeRunLog } from '../tasks/write-run-log.js';
import type { AttemptPlan, NodeStatus, Plan } from './plan.js';
import { type TaskName, taskKey } from './task.js';

/**
 * The build graph as a value: every node of a plan with its task, key, state and what it waits
 * on. `plan` prints it, `graph` renders it (`--format json` is this value), `run` executes it.
 */

export interface GraphNode {
  /** `<benchmark>/<task>` for a benchmark's shared nodes, `<benchmark>/<attempt>/<task>` for an attempt's. */
  id: string;
  task: TaskName;
  benchmark: string;
  /** The attempt it belongs to: `<model-id>-attempt-<n>`, or `<model-id>-attempt-(next+i)` for `--more`. */
  attempt?: string;
  /** The ids of the nodes whose outputs it takes. */
  deps: string[];
  /** Its key; empty where it is known only once the node runs (a `--more` attempt claims its index then). */
  key: string;
  state: NodeStatus['state'];
  why: string;
  /** An attempt's nodes: what `run` does with the attempt. */
  action?: AttemptPlan['action'];
}

export interface Graph {
  nodes: GraphNode[];
}

/** An attempt is three nodes, each taking the one before: the harness run, its copy, the publish. */
export const ATTEMPT_TASKS = ['run-harness', 'collect', 'write-run-log'] as const;

/** The keys of an attempt's downstream nodes, from its attempt key (run-harness's). */
export function attemptTaskKeys(attemptKey: string) {
  return {
    'run-harness': attemptKey,
    collect: taskKey(collect, { attemptKey }).key,
    'write-run-log': taskKey(writeRunLog, { attemptKey }).key,
  };
}

export function buildGraph(plan: Plan): Graph {
  const nodes: GraphNode[] = [];
  for (const bp of plan.benchmarks) {
    const benchmark = bp.bench.slug;
    const id = (...parts: string[]) => [benchmark, ...parts].join('/');
    const shared = (task: TaskName, n: { key: { key: string }; status: NodeStatus }, deps: string[]) =>
      nodes.push({ id: id(task), task, benchmark, deps, key: n.key.key, ...n.status });
    shared('resolve-image', bp.resolve, []);
    shared('pin-digest', bp.pin, [id('resolve-image')]);
    shared('seed-workspace', bp.seed, []);
    for (const line of bp.lines) {
      const attempts = line.attempts.map((a) => ({
        name: a.ref.name,
        keys: attemptTaskKeys(a.key.key),
        state: a.status.state,
        why: a.runningElsewhere
          ? `${a.status.why} (running now in pid ${a.runningElsewhere.pid})`
          : a.status.why,
        action: a.action,
      }));
      for (let i = 0; i < line.more; i++) {
        attempts.push({
          name: `${line.modelId}-attempt-(next+${i})`,
          keys: { 'run-harness': '', collect: '', 'write-run-log': '' },
          state: 'missing',
          why: '--more: a new attempt at the next free index',
          action: 'run',
        });
      }
      for (const a of attempts) {
        let deps = [id('pin-digest'), id('seed-workspace')];
        for (const task of ATTEMPT_TASKS) {
          const node = id(a.name, task);
          nodes.push({
            id: node,
            task,
            benchmark,
            attempt: a.name,
            deps,
            key: a.keys[task],
            state: a.state,
            why: a.why,
            action: a.action,
          });
          deps = [node];
        }
      }
    }
  }
  return { nodes };
}

/** Each dependency as an edge `[from, to]`, for renderers. */
export const edgesOf = (graph: Graph): [string, string][] =>
  graph.nodes.flatMap((n) => n.deps.map((d): [string, string] => [d, n.id]));
