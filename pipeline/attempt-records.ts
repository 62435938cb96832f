import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TranscriptSummary } from '../tasks/harnesses/transcript.js';
import { readRunLog } from './attempts.js';
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
  harness: string;
  /** The --model value, or undefined for the vendor default. */
  model: string | undefined;
  variant: string | undefined;
  summary: TranscriptSummary | null;
}

/** The identity of a run-log.json when its record was taken; any change means "read it again". */
interface IndexEntry extends AttemptRecord {
  ino: number;
  size: number;
  mtimeMs: number;
}

export function recordOf(log: RunLog): AttemptRecord {
  return {
    key: log.key,
    outcome: log.outcome,
    exitCode: log.exitCode,
    signal: log.signal,
    durationMs: log.durationMs,
    runId: log.runId,
    harness: log.harness.name,
    model: log.model.source === 'vendor-default' ? undefined : log.model.value,
    variant: log.variant ?? undefined,
    summary: log.summary ?? null,
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
    private readonly index: Record<string, IndexEntry>,
  ) {}

  static async load(paths: StatePaths): Promise<AttemptRecords> {
    const file = join(paths.root, 'attempt-index.json');
    return new AttemptRecords(paths, (await readJsonOrUndefined<Record<string, IndexEntry>>(file)) ?? {});
  }

  /** The record of a complete attempt; undefined when its run-log.json is missing or unreadable. */
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
    if (hit && hit.ino === s.ino && hit.size === s.size && hit.mtimeMs === s.mtimeMs) return hit;
    const log = await readRunLog(this.paths.attempts, name);
    if (!log?.key || !log.harness || !log.model) {
      this.#forget(name);
      return undefined;
    }
    this.index[name] = { ...recordOf(log), ino: s.ino, size: s.size, mtimeMs: s.mtimeMs };
    this.#dirty = true;
    return this.index[name];
  }

  /** Records an attempt just published, so the next plan need not read its run-log. */
  async note(name: string, log: RunLog): Promise<void> {
    const s = await stat(join(this.paths.attempts, name, 'run-log.json'));
    this.index[name] = { ...recordOf(log), ino: s.ino, size: s.size, mtimeMs: s.mtimeMs };
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

  #forget(name: string): void {
    if (this.index[name]) {
      delete this.index[name];
      this.#dirty = true;
    }
  }
}
