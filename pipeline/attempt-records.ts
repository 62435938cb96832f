import { type Stats, statSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { z } from 'zod';
import { parseAttemptName } from './attempts.js';
import { errnoCode } from './errors.js';
import { writeFileAtomic } from './fs-atomic.js';
import { eachAtMost } from './pool.js';
import { type RunLog, readRunLog } from './run-log.js';
import type { StatePaths } from './state.js';
import { readSealed, sealed } from './stored.js';

/** What plan and status need of a complete attempt; run-log.json holds the rest. */
export interface AttemptRecord {
  key: string;
  outcome: RunLog['outcome'];
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
  summary: RunLog['summary'];
  /** What the gateway measured (run-log `gateway`); null when absent. */
  gateway: NonNullable<RunLog['gateway']> | null;
  /** Where it ran, which its score's checks run on too. */
  mode: RunLog['mode'];
  imageDigest: string;
}

/**
 * `.pipeline/attempt-index.json`: the record of each attempt directory, with the identity of its
 * run-log.json when the record was taken; any change of that means "read it again". Sealed (see
 * readSealed): an index of another format, of another benchmark or changed by hand is a miss as
 * a whole, and every run-log is read again, once.
 */
export const INDEX_FORMAT = 3;
const indexHeaderSchema = z.object({
  format: z.literal(INDEX_FORMAT),
  benchmark: z.string(),
  sha256: z.string(),
});

type IndexEntry = AttemptRecord & { ino: number; size: number; mtimeMs: number };

/** How many run-log.json files are stat'ed between two turns of the event loop. */
const STAT_CHUNK = 1_000;
/** How many run-logs the index does not vouch for are read at once: the disk kept busy, memory bounded. */
const RUN_LOG_READS = 16;

function toRecord(l: RunLog): AttemptRecord {
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
    summary: l.summary,
    gateway: l.gateway ?? null,
    mode: l.mode,
    imageDigest: l.imageDigest,
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
  /** Why each directory asked about is no complete attempt, for people (see whyInvalid). */
  readonly #invalid = new Map<string, string>();

  private constructor(
    private readonly paths: StatePaths,
    /** The benchmark's slug, which every run-log of its attempts must name. */
    private readonly benchmark: string,
    private readonly index: Record<string, IndexEntry>,
  ) {}

  static async load(paths: StatePaths, benchmark: string): Promise<AttemptRecords> {
    const file = join(paths.root, 'attempt-index.json');
    const read = await readSealed(file, indexHeaderSchema);
    const index = read.ok && read.value.header.benchmark === benchmark ? read.value.body : {};
    // Sealed: the body is what save wrote, from entries of this format.
    return new AttemptRecords(paths, benchmark, index as Record<string, IndexEntry>);
  }

  /**
   * The record of attempt directory `name`, or undefined when it is not a complete attempt: its
   * run-log.json is missing, unreadable, not a run-log, or of another benchmark, model-id or index.
   */
  async get(name: string): Promise<AttemptRecord | undefined> {
    return (await this.getMany([name])).get(name);
  }

  /**
   * The record of each of attempt directories `names`, as `get` gives it, in their order. Every
   * run-log.json is stat'ed, a chunk at a time and synchronously: a stat of a cached inode takes
   * microseconds, and ten thousand concurrent async ones (a promise and a thread-pool round trip
   * each) were a third of what `plan` took. The run-logs the index does not vouch for are read a
   * few at a time.
   */
  async getMany(names: readonly string[]): Promise<Map<string, AttemptRecord | undefined>> {
    const found = new Map<string, AttemptRecord | undefined>();
    const unindexed: { name: string; s: Stats }[] = [];
    for (let i = 0; i < names.length; i++) {
      // Between chunks, the event loop runs (a reporter's redraw, a signal).
      if (i > 0 && i % STAT_CHUNK === 0) await nextTurn();
      const name = names[i]!;
      // In the order of `names`, whenever each is read.
      found.set(name, undefined);
      const s = this.#statRunLog(name);
      if (!s) {
        this.#forget(name, 'run-log.json: missing');
        continue;
      }
      this.#invalid.delete(name);
      const hit = this.index[name];
      // An entry is of the attempt it is filed under: #read and note made it of that run-log.
      if (hit && hit.ino === s.ino && hit.size === s.size && hit.mtimeMs === s.mtimeMs) found.set(name, hit);
      else unindexed.push({ name, s });
    }
    await eachAtMost(RUN_LOG_READS, unindexed, async (job) => {
      found.set(job.name, await this.#read(job.name, job.s));
    });
    return found;
  }

  /** The stat of `name`'s run-log.json, undefined when there is none. */
  #statRunLog(name: string): Stats | undefined {
    try {
      // A template, not join(): `name` is a directory entry, and join's normalising showed at 10,000.
      return statSync(`${this.paths.attempts}/${name}/run-log.json`, { throwIfNoEntry: false });
    } catch (error) {
      // ENOTDIR: a file where the attempt directory was.
      if (errnoCode(error) === 'ENOTDIR') return undefined;
      throw error;
    }
  }

  /** Reads `name`'s run-log.json (of stat `s`, taken before) into the index. */
  async #read(name: string, s: Stats): Promise<AttemptRecord | undefined> {
    const read = await readRunLog(join(this.paths.attempts, name));
    if (!read.ok) {
      this.#forget(name, `run-log.json: ${read.problem}`);
      return undefined;
    }
    const record = toRecord(read.value);
    if (!this.#isOf(record, name)) {
      this.#forget(
        name,
        `run-log.json: of benchmark ${record.benchmark}, ${record.modelId} attempt ${record.attempt}`,
      );
      return undefined;
    }
    this.index[name] = { ...record, ino: s.ino, size: s.size, mtimeMs: s.mtimeMs };
    this.#dirty = true;
    return this.index[name];
  }

  /** Why `name` was found to be no complete attempt by the last `get` of it (`run-log.json: missing`). */
  whyInvalid(name: string): string | undefined {
    return this.#invalid.get(name);
  }

  /** Records an attempt just published, so the next plan need not read its run-log. */
  async note(name: string, log: RunLog): Promise<void> {
    const s = statSync(join(this.paths.attempts, name, 'run-log.json'));
    this.index[name] = { ...toRecord(log), ino: s.ino, size: s.size, mtimeMs: s.mtimeMs };
    this.#dirty = true;
  }

  /** The whole run-log, for what the record leaves out (the preimage that explains staleness). */
  async runLog(name: string): Promise<RunLog | undefined> {
    const read = await readRunLog(join(this.paths.attempts, name));
    return read.ok ? read.value : undefined;
  }

  /** Writes the index if it changed; `plan` never calls this. Concurrent writers can only lose entries, which are misses. */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    const header = { format: INDEX_FORMAT, benchmark: this.benchmark };
    await writeFileAtomic(join(this.paths.root, 'attempt-index.json'), sealed(header, this.index));
    this.#dirty = false;
  }

  /** Whether a run-log's record is of the attempt its directory is named for. */
  #isOf(record: AttemptRecord, name: string): boolean {
    const parsed = parseAttemptName(name);
    return (
      parsed !== undefined &&
      record.benchmark === this.benchmark &&
      record.modelId === parsed.modelId &&
      record.attempt === parsed.n
    );
  }

  #forget(name: string, why: string): void {
    this.#invalid.set(name, why);
    if (this.index[name]) {
      delete this.index[name];
      this.#dirty = true;
    }
  }
}
