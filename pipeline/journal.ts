import { readFile } from 'node:fs/promises';
import { describeFailure, type Failure } from './failures.js';
import type { StatePaths } from './state.js';

/** One line of a benchmark's journal (`.pipeline/journal.ndjson`): what happened to an attempt, when. */
export interface JournalEntry {
  at: string;
  event: string;
  attempt: string;
  failure?: unknown;
}

/** The journal's entries in order; a line that is not one (cut by a crash) is skipped. */
export async function readJournal(paths: StatePaths): Promise<JournalEntry[]> {
  const text = await readFile(paths.journal, 'utf8').catch(() => '');
  return text.split('\n').flatMap((line) => {
    try {
      const entry = JSON.parse(line) as JournalEntry;
      return typeof entry?.attempt === 'string' && typeof entry.event === 'string' ? [entry] : [];
    } catch {
      return [];
    }
  });
}

/** Per attempt whose last entry is an error: that error (the attempt is still missing because of it). */
export function lastErrors(entries: readonly JournalEntry[]): Map<string, JournalEntry> {
  const last = new Map<string, JournalEntry>();
  for (const e of entries) last.set(e.attempt, e);
  for (const [attempt, e] of last) if (e.event !== 'error') last.delete(attempt);
  return last;
}

/** A journalled failure for people; one of an older or unknown shape as it is. */
export function describeStored(failure: unknown): string {
  const known = typeof failure === 'object' && failure !== null && 'reason' in failure;
  return known ? describeFailure(failure as Failure) : JSON.stringify(failure);
}
