import type { z } from 'zod';
import type { Failure } from './failures.js';

/**
 * Errors the user can act on. Each carries the exit code the CLI ends with and, where the
 * problem sits in a file, the place (`file:line:col`) so editors can jump to it.
 */

/** A place in a user file, 1-based. */
export interface Location {
  file: string;
  line?: number;
  column?: number;
}

export function formatLocation(loc: Location): string {
  if (loc.line === undefined) return loc.file;
  return `${loc.file}:${loc.line}:${loc.column ?? 1}`;
}

/** One located problem: `benchmarks/x/runner.yaml:12:3: allowed_harnesses[1]: message`. */
export interface Diagnostic {
  location: Location;
  /** The field path inside the file, e.g. `allowed_harnesses[1]`; empty for the whole file. */
  field?: string;
  message: string;
  /** A stable name for the check (`visible-forbidden`), for `validate --json` and for scripts. */
  code?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const field = d.field ? `${d.field}: ` : '';
  return `${formatLocation(d.location)}: ${field}${d.message}`;
}

/** `allowed_harnesses[1]`, `defaults.opencode.model` */
export function formatFieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out ? `.${String(seg)}` : String(seg);
  }
  return out;
}

/**
 * Where the value at a field path sits in its file; with `key`, where that key of the object at
 * `path` sits (an unknown field has no value of its own to point at).
 */
export type Locate = (path: readonly PropertyKey[], key?: string) => Location;

/**
 * A schema's issues as located diagnostics, the one way every file's zod errors are told: each
 * unknown field on its own, as `<field>: unknown field`; any other issue as zod words it.
 */
export function diagnosticsOf(
  issues: readonly z.core.$ZodIssue[],
  locate: Locate,
  code?: string,
): Diagnostic[] {
  return issues.flatMap((issue): Diagnostic[] =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({
          location: locate(issue.path, key),
          field: formatFieldPath([...issue.path, key]),
          message: 'unknown field',
          ...(code && { code }),
        }))
      : [
          {
            location: locate(issue.path),
            field: formatFieldPath(issue.path),
            message: issue.message,
            ...(code && { code }),
          },
        ],
  );
}

/** Exit code 2: the invocation or a user file is wrong; nothing was run. */
export class UsageError extends Error {
  readonly exitCode = 2;
  constructor(
    message: string,
    readonly diagnostics: readonly Diagnostic[] = [],
  ) {
    super(
      diagnostics.length
        ? [message, ...diagnostics.map((d) => `  ${formatDiagnostic(d)}`)].join('\n')
        : message,
    );
    this.name = 'UsageError';
  }
}

/** Exit code 1: the environment failed us (a CLI not found, a disk full); not a result of an attempt. */
export class InfraError extends Error {
  readonly exitCode = 1;
  constructor(
    message: string,
    /** The failure as data: what the scheduler, the journal and every reporter go by. */
    readonly failure: Failure,
  ) {
    super(message);
    this.name = 'InfraError';
  }
}

/** The message of anything thrown, without a stack. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** The `code` of a Node system error (`ENOENT`, `EEXIST`, ...), if any. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string') {
    return error.code;
  }
  return undefined;
}

/**
 * A file system error (`ENOSPC`, `EIO`, ...) as an infrastructure failure that names `path`: a
 * failed write says only "ENOSPC: no space left on device, write", not where. Anything else is
 * returned as it is.
 */
export function ioError(error: unknown, path: string): unknown {
  const code = errnoCode(error);
  if (error instanceof InfraError || !code || !/^E[A-Z]+$/.test(code)) return error;
  const message = messageOf(error);
  const named = message.includes(path) ? message : `${path}: ${message}`;
  return new InfraError(named, { reason: 'io', message: named });
}

/** Runs `work`; a file system error it throws names `path` (see ioError). */
export async function atPath<T>(path: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw ioError(error, path);
  }
}
