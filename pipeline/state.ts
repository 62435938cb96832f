import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from './fs-atomic.js';
import { type NodeKey, type Preimage, preimageSchema } from './keys.js';
import type { Redactor } from './redact.js';
import { readStored } from './stored.js';
import { TASK_NAMES, type TaskName } from './task.js';

/** Where a benchmark's outputs and engine state live. */
export interface StatePaths {
  /** `benchmarks/<slug>/.pipeline/` */
  root: string;
  /** Node records: `nodes/<task>/<key>.json`, each with its preimage. */
  nodes: string;
  /** Seed templates: `seeds/<seed key>/`, complete or absent. */
  seeds: string;
  /** Attempt directories being assembled; renamed into eval-attempts/ when whole. */
  staging: string;
  /** Running markers: one file per attempt in progress, with its owner. */
  running: string;
  /** Append-only NDJSON of attempt starts, outcomes and infrastructure errors. */
  journal: string;
  /** Content hashes of visible files by path, size, mtime and inode. */
  statCache: string;
  /** `benchmarks/<slug>/eval-attempts/` */
  attempts: string;
  /** Old attempts moved aside by `--rerun`; never deleted. */
  replaced: string;
}

export function statePaths(benchmarkDir: string): StatePaths {
  const root = join(benchmarkDir, '.pipeline');
  const attempts = join(benchmarkDir, 'eval-attempts');
  return {
    root,
    nodes: join(root, 'nodes'),
    seeds: join(root, 'seeds'),
    staging: join(root, 'staging'),
    running: join(root, 'running'),
    journal: join(root, 'journal.ndjson'),
    statCache: join(root, 'stat-cache.json'),
    attempts,
    replaced: join(attempts, '.replaced'),
  };
}

/** A stored node: what was computed for a key, and the preimage that explains the key. */
export interface NodeRecord<Output = unknown> {
  task: TaskName;
  key: string;
  preimage: Preimage;
  output: Output;
  /** ISO time the record was written. */
  at: string;
}

/**
 * `nodes/<task>/<key>.json`. Its output is the task's own and is not checked here: what reads a
 * record today asks only whether it exists (and for its preimage).
 */
export const nodeRecordSchema = z.object({
  task: z.enum(TASK_NAMES),
  key: z.string().min(1),
  preimage: preimageSchema,
  output: z.unknown(),
  at: z.string(),
}) satisfies z.ZodType<NodeRecord>;

/**
 * Node records, one JSON file per key, written temp-then-rename. A record is never overwritten
 * (same key, same output), and a record that cannot be read is a miss, not an error.
 */
export class NodeStore {
  constructor(
    private readonly paths: StatePaths,
    private readonly redactor?: Redactor,
  ) {}

  #file(task: TaskName, key: string): string {
    return join(this.paths.nodes, task, `${key}.json`);
  }

  /** The record of `key`, or undefined when there is none, or none that is whole and of this key. */
  async get(task: TaskName, key: string): Promise<NodeRecord | undefined> {
    const read = await readStored(this.#file(task, key), nodeRecordSchema);
    return read.ok && read.value.key === key && read.value.task === task ? read.value : undefined;
  }

  async set<O>(task: TaskName, nodeKey: NodeKey, output: O): Promise<NodeRecord<O>> {
    const record: NodeRecord<O> = {
      task,
      key: nodeKey.key,
      preimage: nodeKey.preimage,
      output,
      at: new Date().toISOString(),
    };
    await writeJsonAtomic(this.#file(task, nodeKey.key), record, { redactor: this.redactor });
    return record;
  }
}

/** A unique suffix for temp and staging names: pid plus randomness. */
export function uniqueSuffix(): string {
  return `${process.pid}-${randomBytes(4).toString('hex')}`;
}
