import { createHash, hash } from 'node:crypto';
import { z } from 'zod';

/**
 * Node keys: sha256 of a canonical JSON preimage. Changing ENGINE_SALT invalidates every key at
 * once (use it when the meaning of a record changes); a task's own `version` invalidates only
 * that task's nodes and everything downstream of them.
 */
export const ENGINE_SALT = 'bench-pipeline/1';

/** The documented input of a key. It is stored beside the record so a miss can be explained. */
export interface Preimage {
  salt: string;
  task: string;
  version: number;
  params: Record<string, unknown>;
  /** Keys of the nodes this node depends on, by role (`seed`, `attempt`, ...). */
  upstream: Record<string, string>;
}

/** A stored preimage (in a node record or a run-log), read back to explain a changed key. */
export const preimageSchema = z.object({
  salt: z.string(),
  task: z.string(),
  version: z.number(),
  params: z.record(z.string(), z.unknown()),
  upstream: z.record(z.string(), z.string()),
}) satisfies z.ZodType<Preimage>;

export interface NodeKey {
  key: string;
  preimage: Preimage;
}

/** JSON with object keys sorted at every level; `undefined` members are dropped, as JSON does. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) sorted[k] = (v as Record<string, unknown>)[k];
    return sorted;
  });
}

export function sha256(data: string | Uint8Array): string {
  // One call, no Hash object: most keys hash a few hundred bytes, where making that object is
  // half the cost (three keys an attempt, 30,000 in a plan of 10,000 attempts).
  return hash('sha256', data, 'hex');
}

export function nodeKey(
  task: { name: string; version: number },
  params: Record<string, unknown>,
  upstream: Record<string, string> = {},
): NodeKey {
  const preimage: Preimage = { salt: ENGINE_SALT, task: task.name, version: task.version, params, upstream };
  return { key: sha256(canonicalJson(preimage)), preimage };
}

/**
 * The keys of nodes whose preimages are equal but for the number at `params[field]` (attempts
 * 1..N of one line, `n`): each is what nodeKey gives for those params, but the canonical JSON
 * around the number is written and hashed once, and each key only hashes on from there.
 */
export function keyFamily(
  task: { name: string; version: number },
  params: Record<string, unknown>,
  upstream: Record<string, string>,
  field: string,
): (value: number) => NodeKey {
  const preimageOf = (value: unknown): Preimage => ({
    salt: ENGINE_SALT,
    task: task.name,
    version: task.version,
    params: { ...params, [field]: value },
    upstream,
  });
  const slow = (value: number) => nodeKey(task, preimageOf(value).params, upstream);
  // A string no preimage holds marks the number's place in the text, which does not depend on it.
  const marker = `\u0000${field}\u0000`;
  const mark = JSON.stringify(marker);
  const text = canonicalJson(preimageOf(marker));
  const at = text.indexOf(mark);
  if (at < 0 || text.includes(mark, at + 1)) return slow;
  const head = createHash('sha256').update(text.slice(0, at));
  const tail = text.slice(at + mark.length);
  return (value) => {
    // JSON has no text for these but null; nodeKey says what they make.
    if (!Number.isFinite(value)) return slow(value);
    const key = head.copy().update(JSON.stringify(value)).update(tail).digest('hex');
    return { key, preimage: preimageOf(value) };
  };
}

/** A short form of a key for people: the first 12 hex digits. */
export function shortKey(key: string): string {
  return key.slice(0, 12);
}

/**
 * The leaf paths where two preimages differ (`params.model`, `upstream.seed`), so "why does this
 * rerun?" has an answer. Arrays are compared element by element.
 */
export function diffPreimages(before: unknown, after: unknown, prefix = ''): string[] {
  if (canonicalJson(before) === canonicalJson(after)) return [];
  const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object';
  if (!isObject(before) || !isObject(after) || Array.isArray(before) !== Array.isArray(after)) {
    return [prefix || '(root)'];
  }
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const paths: string[] = [];
  for (const k of keys) {
    const path = Array.isArray(before) ? `${prefix}[${k}]` : prefix ? `${prefix}.${k}` : k;
    paths.push(...diffPreimages(before[k], after[k], path));
  }
  return paths;
}
