import { collect } from '../tasks/collect.js';
import { type MountRuntimeInput, mountRuntime } from '../tasks/mount-runtime.js';
import { type PinDigestInput, pinDigest } from '../tasks/pin-digest.js';
import { type ResolveImageInput, resolveImage } from '../tasks/resolve-image.js';
import { type SeedInput, seedWorkspace } from '../tasks/seed-workspace.js';
import { writeRunLog } from '../tasks/write-run-log.js';
import type { NodeStatus } from './attempt-status.js';
import { type AttemptLine, type AttemptPlan, lineHasWork, type Plan, UNPINNED } from './plan.js';
import type { AttemptScore, BenchmarkScoring, ScorePlan } from './score-plan.js';
import { type KeyInputs, type TaskName, taskKey } from './task.js';

/**
 * The build graph as a value: every node of a plan with its task, its input, what it waits on,
 * its key and state. `plan` prints it, `graph` renders it (`--format json` is this value), `run`
 * executes it (see executor.ts). It is the one place where a plan becomes task inputs and keys.
 */

interface NodeBase {
  /** `<benchmark>/<task>` for a benchmark's shared nodes, `<benchmark>/<attempt>/<task>` for an attempt's. */
  id: string;
  benchmark: string;
  /** The ids of the nodes whose outputs it takes. */
  deps: string[];
  /**
   * Its key; empty where it is known only once its upstream has run (the attempts of an image
   * not pinned yet, a `--more` attempt that claims its index when it starts).
   */
  key: string;
  state: NodeStatus['state'];
  why: string;
  /** An attempt's nodes: `<model-id>-attempt-<n>`, or `<model-id>-attempt-(next+i)` for `--more`. */
  attempt?: string;
  /** An attempt's nodes: what `run` does with the attempt. */
  action?: AttemptPlan['action'];
}

/** A benchmark's shared nodes. */
export type BenchmarkNode = NodeBase &
  (
    | { task: 'resolve-image'; input: ResolveImageInput }
    | { task: 'pin-digest'; input: PinDigestInput }
    | { task: 'seed-workspace'; input: SeedInput }
    | { task: 'mount-runtime'; input: MountRuntimeInput }
  );

/** One of an attempt's three nodes, each taking the one before: the harness run, its copy, the publish. */
export type AttemptNode = NodeBase & {
  task: 'run-harness' | 'collect' | 'write-run-log';
  attempt: string;
  action: AttemptPlan['action'];
  /**
   * run-harness's input (the others take their attempt key from it), as far as the plan knows it:
   * its pin and digest are filled in from the pin-digest node's output, its index for `--more`
   * when the index is claimed.
   */
  input: { line: AttemptLine; planned: AttemptPlan | undefined };
};

/**
 * The score of a complete attempt (see score-plan.ts), in eval-results/: as planned (`score`,
 * `plan --score`), or in a run, after its attempt's write-run-log, made once it is published.
 */
export type ScoreNode = NodeBase & {
  task: 'score-attempt';
  attempt: string;
  action: AttemptPlan['action'];
  input: { scoring: BenchmarkScoring; score: AttemptScore | undefined };
};

export type GraphNode = BenchmarkNode | AttemptNode | ScoreNode;

export interface Graph {
  nodes: GraphNode[];
}

const ATTEMPT_TASKS = ['run-harness', 'collect', 'write-run-log'] as const;

export const isAttemptNode = (n: GraphNode): n is AttemptNode =>
  (ATTEMPT_TASKS as readonly string[]).includes(n.task);

/** The graph of `score`: a node per complete attempt selected, each on its own. */
export function buildScoreGraph(plan: ScorePlan): Graph {
  const nodes: GraphNode[] = [];
  for (const b of plan.benchmarks) {
    for (const s of b.scores) {
      nodes.push({
        id: `${b.bench.slug}/${s.name}/score-attempt`,
        task: 'score-attempt',
        benchmark: b.bench.slug,
        attempt: s.name,
        deps: [],
        key: s.key.key,
        ...s.status,
        action: s.action === 'skip' ? 'skip' : 'run',
        input: { scoring: b, score: s },
      });
    }
  }
  return { nodes };
}

/** `scorings`: `run --score`, a score node after each attempt, by benchmark. */
export function buildGraph(plan: Plan, scorings?: ReadonlyMap<string, BenchmarkScoring>): Graph {
  const nodes: GraphNode[] = [];
  for (const bp of plan.benchmarks) {
    const benchmark = bp.bench.slug;
    const id = (...parts: string[]) => `${benchmark}/${parts.join('/')}`;
    const image = bp.bench.manifest.image ?? null;
    const common = (task: TaskName, n: { key: { key: string }; status: NodeStatus }, deps: string[]) => ({
      id: id(task),
      benchmark,
      deps,
      key: n.key.key,
      ...n.status,
    });
    nodes.push({
      ...common('resolve-image', bp.resolve, []),
      task: 'resolve-image',
      input: { ref: image, mode: bp.mode, context: bp.context },
    });
    nodes.push({
      ...common('pin-digest', bp.pin, [id('resolve-image')]),
      task: 'pin-digest',
      input: { resolveKey: bp.resolve.key.key, ref: image, digest: bp.pin.digest },
      // Unpinned, the key is the digest's: known once the image is pinned.
      ...(bp.pin.digest === UNPINNED && { key: '' }),
    });
    nodes.push({
      ...common('seed-workspace', bp.seed, []),
      task: 'seed-workspace',
      input: { stateMode: bp.bench.manifest.state_mode, inventory: bp.inventory, paths: bp.paths },
    });
    // docker: a harness runtime image, for the attempts that run on it.
    const runtimeOf = (line: AttemptLine) => {
      const runtime = bp.mode === 'docker' && lineHasWork(line) ? line.adapter.config.runtime : undefined;
      if (!runtime) return [];
      const node = id(line.adapter.name, 'mount-runtime');
      if (!nodes.some((n) => n.id === node)) {
        const input = { harness: line.adapter.name, runtime };
        nodes.push({
          id: node,
          task: 'mount-runtime',
          benchmark,
          deps: [],
          key: taskKey(mountRuntime, input).key,
          state: 'missing',
          why: `resolved when run (the tag may move), extracted once per digest: ${runtime.image}`,
          input,
        });
      }
      return [node];
    };
    for (const line of bp.lines) {
      // What every attempt of the line waits on first: one array for them all.
      const upstream = [id('pin-digest'), id('seed-workspace'), ...runtimeOf(line)];
      const attempts: {
        name: string;
        planned: AttemptPlan | undefined;
        why: string;
        state: NodeStatus['state'];
        action: AttemptPlan['action'];
      }[] = line.attempts.map((planned) => ({
        name: planned.ref.name,
        planned,
        state: planned.status.state,
        why: planned.runningElsewhere
          ? `${planned.status.why} (running now in pid ${planned.runningElsewhere.pid})`
          : planned.status.why,
        action: planned.action,
      }));
      for (let i = 0; i < line.more; i++) {
        attempts.push({
          name: `${line.modelId}-attempt-(next+${i})`,
          planned: undefined,
          state: 'missing',
          why: '--more: a new attempt at the next free index',
          action: 'run',
        });
      }
      for (const { name, planned, state, why, action } of attempts) {
        const attemptKey = planned && bp.pin.digest !== UNPINNED ? planned.key.key : undefined;
        let deps = upstream;
        const input = { line, planned };
        for (const task of ATTEMPT_TASKS) {
          const node = new AttemptTaskNode(
            `${benchmark}/${name}/${task}`,
            task,
            benchmark,
            name,
            deps,
            attemptKey,
          );
          node.state = state;
          node.why = why;
          node.action = action;
          node.input = input;
          nodes.push(node);
          deps = [node.id];
        }
        const scoring = scorings?.get(benchmark);
        if (scoring) {
          const why = 'scored once the attempt is complete';
          const input = { scoring, score: undefined };
          const scored = {
            task: 'score-attempt' as const,
            attempt: name,
            deps,
            key: '',
            state: 'missing' as const,
          };
          nodes.push({ id: `${benchmark}/${name}/score-attempt`, benchmark, why, action, input, ...scored });
        }
      }
    }
  }
  return { nodes };
}

/**
 * An attempt's node. A class, so that its key is a getter of the prototype, computed when asked
 * for (`plan` and a run over complete attempts never ask) at no cost per node: a getter of each
 * object literal made every node a dictionary, a kilobyte each, thirty thousand at 10,000 attempts.
 */
class AttemptTaskNode implements AttemptNode {
  state: NodeStatus['state'] = 'missing';
  why = '';
  action: AttemptPlan['action'] = 'run';
  input!: AttemptNode['input'];
  /** run-harness's key, which the others' derive from; undefined until the image is pinned. */
  readonly #attemptKey: string | undefined;
  constructor(
    readonly id: string,
    readonly task: AttemptNode['task'],
    readonly benchmark: string,
    readonly attempt: string,
    readonly deps: string[],
    attemptKey: string | undefined,
  ) {
    this.#attemptKey = attemptKey;
  }
  get key(): string {
    return this.#attemptKey ? downstreamKey(this.task, this.#attemptKey) : '';
  }
}

/** The key of one of an attempt's nodes, from its attempt key (run-harness's). */
const downstreamKey = (task: AttemptNode['task'], attemptKey: string) =>
  task === 'run-harness'
    ? attemptKey
    : (task === 'collect' ? collectKey(attemptKey) : writeRunLogKey(attemptKey)).key;

/** The keys of an attempt's nodes, from its attempt key (run-harness's). */
export function attemptTaskKeys(attemptKey: string) {
  return Object.fromEntries(ATTEMPT_TASKS.map((t) => [t, downstreamKey(t, attemptKey)])) as Record<
    AttemptNode['task'],
    string
  >;
}

export const collectKey = (attemptKey: string) => taskKey(collect, { attemptKey });
export const writeRunLogKey = (attemptKey: string) => taskKey(writeRunLog, { attemptKey });

/** What a node's key is made of: its input as the key sees it; null where the key is not known yet. */
function keyInputsOf(node: GraphNode): KeyInputs | null {
  if (!node.key) return null;
  switch (node.task) {
    case 'resolve-image':
      return resolveImage.keyInputs(node.input);
    case 'pin-digest':
      return pinDigest.keyInputs(node.input);
    case 'seed-workspace':
      return seedWorkspace.keyInputs(node.input);
    case 'mount-runtime':
      return mountRuntime.keyInputs(node.input);
    case 'run-harness': {
      const { params, upstream } = node.input.planned!.key.preimage;
      return { params, upstream };
    }
    case 'score-attempt': {
      const preimage = node.input.score?.key.preimage;
      return preimage ? { params: preimage.params, upstream: preimage.upstream } : null;
    }
    case 'collect':
    case 'write-run-log': {
      const attemptKey = node.input.planned!.key.key;
      return (node.task === 'collect' ? collect : writeRunLog).keyInputs({ attemptKey });
    }
  }
}

/**
 * A node as JSON: what it is, its state and what it waits on; `withInputs` adds what its key is
 * made of (for `graph --format json`; `plan --json` leaves it out, one per attempt adds up).
 */
export function nodeJson(node: GraphNode, withInputs: boolean) {
  // `key` named: an attempt node's is a getter of its class, which a spread leaves out.
  const { input: _, ...rest } = node;
  const json = { ...rest, key: node.key };
  return withInputs ? { ...json, input: keyInputsOf(node) } : json;
}

/** Each dependency as an edge `[from, to]`, for renderers. */
export const edgesOf = (graph: Graph): [string, string][] =>
  graph.nodes.flatMap((n) => n.deps.map((d): [string, string] => [d, n.id]));
