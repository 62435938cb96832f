import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { diagnosticsOf, errnoCode, ioError } from './errors.js';
import { sha256 } from './keys.js';

/**
 * Reading back what the tool stored (run-logs, node records, the image lock, seed entries,
 * running markers, the attempt index, a manual workspace's record): every such file is read
 * through readStored, against the zod schema beside its type. What is not the file it should be
 * is a miss with a reason a person can read, never a value of the wrong shape taken on trust.
 */

/** Why a stored file was not read: the file is one of these, in the order they are checked. */
export type MissReason =
  /** There is no file (or no directory above it). */
  | 'absent'
  /** Something is there that cannot be read as a file: a directory, a FIFO, no permission. */
  | 'unreadable'
  /** Empty, or not JSON (YAML for `.yaml` files). */
  | 'syntax'
  /** Parsed, but not of the schema's shape. */
  | 'schema';

export interface StoredMiss {
  ok: false;
  reason: MissReason;
  /** What was wrong, without the file: `missing`, `not JSON (...)`, `attempt: Invalid input: ...`. */
  problem: string;
  /** `<file>: <problem>`, for a warning or an error message. */
  why: string;
}

export type Stored<T> = { ok: true; value: T } | StoredMiss;

/** At most this many schema issues are named in a miss; the first is usually the one that matters. */
const ISSUES_SHOWN = 3;

/**
 * The content of a stored file, parsed (YAML for a `.yaml` or `.yml` name, JSON otherwise) and
 * checked with `schema`, or a miss that says why. Errors that say nothing about the file (EIO,
 * EMFILE, ENOMEM) are thrown, naming it: the file may be fine, and treating it as missing would
 * rebuild or replace what is there.
 */
export async function readStored<S extends z.ZodType>(path: string, schema: S): Promise<Stored<z.output<S>>> {
  const miss = (reason: MissReason, problem: string): StoredMiss => ({
    ok: false,
    reason,
    problem,
    why: `${path}: ${problem}`,
  });
  const text = await readRegularFile(path);
  if (typeof text !== 'string') return miss(text.reason, text.problem);
  // A test, not trim(): that would copy the whole text (megabytes, for the attempt index).
  if (!/\S/.test(text)) return miss('syntax', 'empty');
  const parsed = /\.ya?ml$/.test(path) ? parseYamlText(text) : parseJsonText(text);
  if ('problem' in parsed) return miss('syntax', parsed.problem);
  const result = schema.safeParse(parsed.value);
  if (result.success) return { ok: true, value: result.data };
  const found = diagnosticsOf(result.error.issues, () => ({ file: path }));
  const named = found.slice(0, ISSUES_SHOWN).map((d) => `${d.field || '(root)'}: ${d.message}`);
  const more = found.length > ISSUES_SHOWN ? `; and ${found.length - ISSUES_SHOWN} more` : '';
  return miss('schema', named.join('; ') + more);
}

/**
 * A cache the tool alone writes, too large to check entry by entry on every read (the attempt
 * index holds a record per attempt: checking ten thousand with zod took longer than reading
 * them). Its first line is a header, checked with `header`, that holds the sha256 of the rest;
 * the rest is JSON exactly as `sealed` wrote it from values of its type. A file of another
 * format, torn, or edited by hand is a miss as a whole, and its reader rebuilds it from the
 * sources of truth. The body's type is the writer's: bump the header's format when it changes.
 */
export async function readSealed<S extends z.ZodType<{ sha256: string }>>(
  path: string,
  header: S,
): Promise<Stored<{ header: z.output<S>; body: unknown }>> {
  const data = await readRegularFile(path, 'buffer');
  const miss = (reason: MissReason, problem: string): StoredMiss => ({
    ok: false,
    reason,
    problem,
    why: `${path}: ${problem}`,
  });
  if (!Buffer.isBuffer(data)) return miss(data.reason, data.problem);
  // Bytes until the body is parsed: the body is hashed as read and decoded once.
  const end = data.indexOf(0x0a);
  const head = parseJsonText(data.toString('utf8', 0, end < 0 ? data.length : end));
  if ('problem' in head) return miss('syntax', `header: ${head.problem}`);
  const checked = header.safeParse(head.value);
  if (!checked.success) return miss('schema', 'header: of another format');
  const body = data.subarray(end + 1);
  if (sha256(body) !== checked.data.sha256) return miss('schema', 'changed since it was written');
  const parsed = parseJsonText(body.toString('utf8'));
  if ('problem' in parsed) return miss('syntax', parsed.problem);
  return { ok: true, value: { header: checked.data, body: parsed.value } };
}

/** The text of a file `readSealed` reads: `header`, the sha256 of the body added, and `body`. */
export function sealed(header: object, body: unknown): string {
  const text = `${JSON.stringify(body)}\n`;
  return `${JSON.stringify({ ...header, sha256: sha256(text) })}\n${text}`;
}

/**
 * The text of the regular file at `path`. Opened without blocking, so a FIFO planted in a
 * file's place is refused rather than waited on forever.
 */
async function readRegularFile(path: string): Promise<string | { reason: MissReason; problem: string }>;
async function readRegularFile(
  path: string,
  as: 'buffer',
): Promise<Buffer | { reason: MissReason; problem: string }>;
async function readRegularFile(
  path: string,
  as: 'utf8' | 'buffer' = 'utf8',
): Promise<string | Buffer | { reason: MissReason; problem: string }> {
  let handle: import('node:fs/promises').FileHandle;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    const code = errnoCode(error);
    if (code === 'ENOENT' || code === 'ENOTDIR') return { reason: 'absent', problem: 'missing' };
    if (code === 'EACCES' || code === 'EPERM' || code === 'ELOOP' || code === 'ENXIO')
      return { reason: 'unreadable', problem: `unreadable (${code})` };
    throw ioError(error, path);
  }
  try {
    const s = await handle.stat();
    if (s.isDirectory()) return { reason: 'unreadable', problem: 'a directory, not a file' };
    if (!s.isFile()) return { reason: 'unreadable', problem: 'not a regular file' };
    return as === 'utf8' ? await handle.readFile('utf8') : await handle.readFile();
  } catch (error) {
    throw ioError(error, path);
  } finally {
    await handle.close();
  }
}

function parseJsonText(text: string): { value: unknown } | { problem: string } {
  try {
    return { value: JSON.parse(text) };
  } catch (error) {
    return { problem: `not JSON (${(error as Error).message})` };
  }
}

/** YAML syntax errors, and aliases that expand past yaml's limit, are `not YAML`. */
function parseYamlText(text: string): { value: unknown } | { problem: string } {
  const doc = parseDocument(text, { uniqueKeys: true });
  const [error] = doc.errors;
  // The message's first line says what and where; a snippet of the file follows it.
  if (error) return { problem: `not YAML (${error.message.split('\n')[0]?.replace(/:$/, '')})` };
  try {
    return { value: doc.toJS() };
  } catch (error) {
    return { problem: `not YAML (${(error as Error).message})` };
  }
}
