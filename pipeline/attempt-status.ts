import type { AttemptRecord, AttemptRecords } from './attempt-records.js';
import { diffPreimages, type NodeKey, type Preimage } from './keys.js';

/** The state of a node of the plan, and of an attempt: what it is and why, for people. */

export type NodeState = 'done' | 'missing' | 'stale' | 'failed';

export interface NodeStatus {
  state: NodeState;
  why: string;
}

/** Why an attempt directory without a valid run-log.json is no complete attempt. */
export const INVALID_ATTEMPT =
  'invalid: no valid run-log.json for this benchmark, model-id and index; a run that needs the index moves it to eval-attempts/.replaced/';

/** Finds a stored seed preimage by its key (today's is in hand; earlier ones are in node records). */
export type PreimageLookup = (key: string) => Promise<Preimage | undefined>;

/** A complete attempt of today's key is done, or failed: a non-zero or timed-out result. */
export function outcomeStatus(recorded: AttemptRecord): NodeStatus {
  if (recorded.outcome === 'succeeded')
    return { state: 'done', why: `succeeded in ${Math.round(recorded.durationMs)} ms` };
  return {
    state: 'failed',
    why: recorded.outcome === 'timed-out' ? 'timed out' : `exit ${recorded.exitCode ?? recorded.signal}`,
  };
}

/** A complete attempt of another key than today's is stale: why, from its run-log's preimage. */
export async function staleStatus(
  name: string,
  key: NodeKey,
  records: AttemptRecords,
  seeds: PreimageLookup,
): Promise<NodeStatus> {
  const before = (await records.runLog(name))?.preimage;
  return { state: 'stale', why: before ? await explainChange(before, key.preimage, seeds) : 'key changed' };
}

/**
 * Says what changed between an attempt's recorded preimage and today's: the differing fields,
 * and for a changed seed the visible files that changed (from the stored seed records).
 */
export async function explainChange(
  before: Preimage,
  after: Preimage,
  seeds: PreimageLookup,
): Promise<string> {
  const fields = diffPreimages(before, after);
  const parts: string[] = [];
  for (const f of fields) {
    if (f === 'upstream.seed') {
      const [a, b] = await Promise.all([seeds(before.upstream.seed ?? ''), seeds(after.upstream.seed ?? '')]);
      const files = a && b ? changedFiles(a, b) : [];
      parts.push(files.length ? `visible files changed: ${files.join(', ')}` : 'visible files changed');
    } else {
      parts.push(`${f.replace(/^params\./, '')} changed`);
    }
  }
  return parts.join('; ') || 'key changed';
}

function changedFiles(a: Preimage, b: Preimage): string[] {
  type Entry = [string, number, string];
  const index = (p: Preimage) =>
    new Map(((p.params.files as Entry[]) ?? []).map((e) => [e[0], `${e[1]}:${e[2]}`]));
  const [x, y] = [index(a), index(b)];
  const paths = [...new Set([...x.keys(), ...y.keys()])].sort();
  return paths
    .filter((p) => x.get(p) !== y.get(p))
    .map((p) => (!x.has(p) ? `+${p}` : !y.has(p) ? `-${p}` : p));
}
