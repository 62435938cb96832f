import { InfraError, messageOf } from './errors.js';
import type { EventSink, NodeRef } from './events.js';
import type { Failure } from './failures.js';
import { CancelledError } from './task.js';

/** A node as the scheduler sees it: what it depends on and how to run it. */
export interface SchedulerNode {
  ref: NodeRef;
  deps: SchedulerNode[];
  /** Among ready nodes, higher runs first: finishing an attempt beats starting a new one. */
  priority: number;
  /** Runs even after cancellation (it only saves a result that already exists). */
  finishing?: boolean;
  /** Returns true when the node found its output already there (a cache hit). */
  run(signal: AbortSignal): Promise<boolean>;
  /** Called once when the node fails or cannot run, to undo partial work. */
  onFailed?(failure: Failure): Promise<void>;
}

/** Turns anything thrown into a Failure, at this one place. */
export function toFailure(error: unknown): Failure {
  if (error instanceof CancelledError) return { reason: 'cancelled' };
  if (error instanceof InfraError) return error.failure;
  const code = (error as NodeJS.ErrnoException)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return { reason: 'io', message: messageOf(error) };
  return { reason: 'unknown', message: messageOf(error) };
}

/** A counting semaphore whose waiters are served by priority, then arrival. */
class Slots {
  #free: number;
  #waiting: { priority: number; seq: number; grant: () => void }[] = [];
  #seq = 0;

  constructor(size: number) {
    this.#free = size;
  }

  acquire(priority: number): Promise<void> {
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve();
    }
    return new Promise((grant) => {
      this.#waiting.push({ priority, seq: this.#seq++, grant });
      this.#waiting.sort((a, b) => b.priority - a.priority || a.seq - b.seq);
    });
  }

  release(): void {
    const next = this.#waiting.shift();
    if (next) next.grant();
    else this.#free++;
  }
}

/**
 * Runs a graph of nodes with at most `concurrency` running at once. Each node runs once however
 * many nodes depend on it (one seed per benchmark, whatever the number of attempts). A failed
 * node fails its dependents but not its siblings: the batch keeps going. After the signal is
 * aborted, queued nodes do not start (except finishing ones) and report `cancelled`.
 */
export class Scheduler {
  readonly #slots: Slots;
  readonly #results = new Map<SchedulerNode, Promise<Failure | undefined>>();

  constructor(
    concurrency: number,
    private readonly signal: AbortSignal,
    private readonly emit: EventSink,
  ) {
    this.#slots = new Slots(concurrency);
  }

  /** Runs every node (and its dependencies); resolves to each node's failure, if any. */
  async execute(nodes: readonly SchedulerNode[]): Promise<Map<SchedulerNode, Failure | undefined>> {
    await Promise.all(nodes.map((n) => this.#run(n)));
    const out = new Map<SchedulerNode, Failure | undefined>();
    for (const [node, result] of this.#results) out.set(node, await result);
    return out;
  }

  #run(node: SchedulerNode): Promise<Failure | undefined> {
    let result = this.#results.get(node);
    if (!result) {
      result = this.#start(node);
      this.#results.set(node, result);
    }
    return result;
  }

  async #start(node: SchedulerNode): Promise<Failure | undefined> {
    const depFailures = await Promise.all(node.deps.map((d) => this.#run(d)));
    const failedDep = node.deps.find((_, i) => depFailures[i]);
    let failure: Failure | undefined;
    if (failedDep) {
      const f = depFailures[node.deps.indexOf(failedDep)]!;
      failure = f.reason === 'cancelled' ? f : { reason: 'dependency-failed', dependency: failedDep.ref.id };
    } else {
      await this.#slots.acquire(node.priority);
      try {
        if (this.signal.aborted && !node.finishing) throw new CancelledError();
        const started = performance.now();
        this.emit({ type: 'node-start', node: node.ref });
        const cached = await node.run(this.signal);
        this.emit({ type: 'node-done', node: node.ref, cached, durationMs: performance.now() - started });
      } catch (error) {
        failure = toFailure(error);
      } finally {
        // Released on the next turn, once this node's dependents have queued for a slot: the
        // collect of a finished attempt (higher priority) then goes before the next harness.
        setImmediate(() => this.#slots.release());
      }
    }
    if (failure) {
      this.emit({ type: 'node-failed', node: node.ref, failure });
      await node.onFailed?.(failure).catch((error: unknown) => {
        this.emit({ type: 'warning', message: `cleanup after ${node.ref.id} failed: ${messageOf(error)}` });
      });
    }
    return failure;
  }
}
