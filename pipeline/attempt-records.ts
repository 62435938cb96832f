import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import type { TranscriptSummary } from '../tasks/harnesses/transcript.js';
import { parseAttemptName, readRunLog } from './attempts.js';
import { errnoCode } from './errors.js';
import type { Outcome } from './events.js';
import { readJsonOrUndefined, writeJsonAtomic } from './fs-atomic.js';
import type { RunLog } from './run-log.js';
import type { StatePaths } from './state.js';

/** What plan and status need of a complete attempt; run-log.json holds the rest. */
export interface AttemptRecord {
  key: string;
  outcome: Outcome;
  exitCode: number | null;
  signal: string | null;
  durationMs: number;
  runId: string;
  /** The benchmark, model-id and index the run-log says it is of: they must match its directory. */
  benchmark: string;
  modelId: string;
  attempt: number;
  harness: string;
  /** The --model value, or undefined for the vendor default. */
  model: string | undefined;
  variant: string | undefined;
  summary: TranscriptSummary | null;
  /** What the gateway measured (run-log `gateway`); null when absent. */
  gateway: RunLog['gateway'] | null;
}

/** The identity of a run-log.json when its record was taken; any change means "read it again". */
interface IndexEntry extends AttemptRecord {
  ino: number;
  size: number;
  mtimeMs: number;
}

/** The fields of run-log.json a record is made of; a file without them is not a run-log. */
const runLogFields = z.object({
  key: z.string().min(1),
  outcome: z.enum(['succeeded', 'failed', 'timed-out']),
  exitCode: z.number().nullable(),
  signal: z.string().nullable(),
  durationMs: z.number(),
  runId: z.string(),
  benchmark: z.object({ name: z.string() }),
  attempt: z.number(),
  harness: z.object({ name: z.string() }),
  model: z.object({ id: z.string(), value: z.string(), source: z.string() }),
  variant: z.string().nullish(),
  summary: z.unknown(),
  gateway: z.unknown().optional(),
});

/** The record of what was read as a run-log, or undefined when it is not one. */
function recordOf(log: unknown): AttemptRecord | undefined {
  const parsed = runLogFields.safeParse(log);
  return parsed.success ? toRecord(parsed.data) : undefined;
}

function toRecord(l: z.output<typeof runLogFields>): AttemptRecord {
  return {
    key: l.key,
    outcome: l.outcome,
    exitCode: l.exitCode,
    signal: l.signal,
    durationMs: l.durationMs,
    runId: l.runId,
    benchmark: l.benchmark.name,
    modelId: l.model.id,
    attempt: l.attempt,
    harness: l.harness.name,
    model: l.model.source === 'vendor-default' ? undefined : l.model.value,
    variant: l.variant ?? undefined,
    summary: (l.summary as TranscriptSummary | null | undefined) ?? null,
    gateway: (l.gateway as RunLog['gateway'] | undefined) ?? null,
  };
}

/**
 * The records of a benchmark's complete attempts. run-log.json is the source of truth; this
 * keeps an index in `.pipeline/attempt-index.json`, trusted for an attempt only while its
 * run-log.json has the same inode, size and mtime, so `plan` over a thousand attempts reads one
 * file and stats the rest instead of parsing every run-log.
 */
export class AttemptRecords {
  #dirty = false;

  private constructor(
    private readonly paths: StatePaths,
    /** The benchmark's slug, which every run-log of its attempts must name. */
    private readonly benchmark: string,
    private readonly index: Record<string, IndexEntry>,
  ) {}

  static async load(paths: StatePaths, benchmark: string): Promise<AttemptRecords> {
    const file = join(paths.root, 'attempt-index.json');
    const index = (await readJsonOrUndefined<Record<string, IndexEntry>>(file)) ?? {};
    return new AttemptRecords(paths, benchmark, index);
  }

  /**
   * The record of attempt directory `name`, or undefined when it is not a complete attempt: its
   * run-log.json is missing, unreadable, not a run-log, or of another benchmark, model-id or index.
   */
  async get(name: string): Promise<AttemptRecord | undefined> {
    let s: import('node:fs').Stats;
    try {
      s = await stat(join(this.paths.attempts, name, 'run-log.json'));
    } catch (error) {
      if (errnoCode(error) !== 'ENOENT' && errnoCode(error) !== 'ENOTDIR') throw error;
      this.#forget(name);
      return undefined;
    }
    const hit = this.index[name];
    if (hit && hit.ino === s.ino && hit.size === s.size && hit.mtimeMs === s.mtimeMs && this.#isOf(hit, name))
      return hit;
    const record = recordOf(await readRunLog(this.paths.attempts, name));
    if (!record || !this.#isOf(record, name)) {
      this.#forget(name);
      return undefined;
    }
    this.index[name] = { ...record, ino: s.ino, size: s.size, mtimeMs: s.mtimeMs };
    this.#dirty = true;
    return this.index[name];
  }

  /** Records an attempt just published, so the next plan need not read its run-log. */
  async note(name: string, log: RunLog): Promise<void> {
    const s = await stat(join(this.paths.attempts, name, 'run-log.json'));
    this.index[name] = { ...toRecord(log), ino: s.ino, size: s.size, mtimeMs: s.mtimeMs };
    this.#dirty = true;
  }

  /** The whole run-log, for what the record leaves out (the preimage that explains staleness). */
  runLog(name: string): Promise<RunLog | undefined> {
    return readRunLog(this.paths.attempts, name);
  }

  /** Writes the index if it changed; `plan` never calls this. Concurrent writers can only lose entries, which are misses. */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    await writeJsonAtomic(join(this.paths.root, 'attempt-index.json'), this.index);
    this.#dirty = false;
  }

  /** Whether a record is of the attempt its directory is named for (an index entry of an older format is not). */
  #isOf(record: AttemptRecord, name: string): boolean {
    const parsed = parseAttemptName(name);
    return (
      parsed !== undefined &&
      record.benchmark === this.benchmark &&
      record.modelId === parsed.modelId &&
      record.attempt === parsed.n
    );
  }

  #forget(name: string): void {
    if (this.index[name]) {
      delete this.index[name];
      this.#dirty = true;
    }
  }
}
