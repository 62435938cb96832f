import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { parseAttemptName } from './attempts.js';
import { exists } from './fs-atomic.js';

/** The package's own directories the tool writes (and the scoring writes): not the agent's to touch, but not watched. */
const UNWATCHED = new Set(['.pipeline', 'eval-attempts', 'eval-results']);

/**
 * Every path of a package but UNWATCHED, with what cheaply tells a change: type, size, mtime.
 * Taken twice an attempt, so a directory's entries are looked at all at once: a brownfield
 * baseline of thousands of files one lstat after another costs more than the attempt's copy.
 */
async function fingerprint(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    const names = await readdir(join(dir, rel)).catch(() => [] as string[]);
    await Promise.all(
      names.map(async (name) => {
        if (!rel && UNWATCHED.has(name)) return;
        const path = rel ? `${rel}/${name}` : name;
        const s = await lstat(join(dir, path)).catch(() => undefined);
        if (!s) return;
        out.set(
          path,
          s.isDirectory() ? 'dir' : `${s.isSymbolicLink() ? 'link' : 'file'} ${s.size} ${s.mtimeMs}`,
        );
        if (s.isDirectory()) await walk(path);
      }),
    );
  };
  await walk('');
  return out;
}

/** What a window saw at its start. */
export interface WatchStart {
  files: Map<string, string>;
  attempts: Set<string>;
  at: number;
}

/**
 * lite mode: watches a benchmark package while its attempts' harnesses run. A harness on the host
 * can write anywhere the user can, so each attempt's window (harness start to end) compares a
 * fingerprint of the package before and after, and the eval-attempts/ entries this tool did not
 * publish. What changed is an isolation breach of that attempt; with attempts of the same
 * benchmark running at the same time it cannot be told whose, so each of them records it.
 */
export class PackageWatch {
  /** The harness windows of this benchmark's attempts in this invocation: start, and end once ended. */
  readonly #windows = new Map<string, { start: number; end: number | undefined }>();
  readonly #published = new Set<string>();

  constructor(
    private readonly dir: string,
    private readonly attemptsDir: string,
  ) {}

  async begin(attempt: string): Promise<WatchStart> {
    const at = Date.now();
    this.#windows.set(attempt, { start: at, end: undefined });
    return { files: await fingerprint(this.dir), attempts: await this.#attemptEntries(), at };
  }

  /** Closes the window of an attempt that did not get as far as a result. */
  close(attempt: string): void {
    const w = this.#windows.get(attempt);
    if (w) w.end ??= Date.now();
  }

  /** This tool published `name` into eval-attempts/. */
  published(name: string): void {
    this.#published.add(name);
  }

  /** Closes the window and returns its breaches, each naming the attempts that ran alongside. */
  async end(attempt: string, start: WatchStart): Promise<string[]> {
    const files = await fingerprint(this.dir);
    this.close(attempt);
    const found: string[] = [];
    for (const [path, was] of start.files) {
      const now = files.get(path);
      if (now === undefined) found.push(`${path} removed from the benchmark package`);
      else if (now !== was) found.push(`${path} changed in the benchmark package`);
    }
    for (const path of files.keys())
      if (!start.files.has(path)) found.push(`${path} added to the benchmark package`);
    for (const name of await this.#attemptEntries()) {
      if (start.attempts.has(name) || this.#published.has(name) || (await this.#publishedElsewhere(name)))
        continue;
      found.push(`eval-attempts/${name} appeared, not published by this tool`);
    }
    if (!found.length) return found;
    const alongside = [...this.#windows]
      .filter(([other, w]) => other !== attempt && w.start <= Date.now() && (w.end ?? Infinity) >= start.at)
      .map(([other]) => other);
    const who = alongside.length
      ? ` (by this attempt or by ${alongside.join(', ')}, which ran at the same time)`
      : '';
    return found.map((f) => `${f}${who}`);
  }

  async #attemptEntries(): Promise<Set<string>> {
    const names = await readdir(this.attemptsDir).catch(() => [] as string[]);
    return new Set(names.filter((n) => n !== '.replaced'));
  }

  /** An attempt directory another invocation published: named so, with its run-log. */
  async #publishedElsewhere(name: string): Promise<boolean> {
    return (
      parseAttemptName(name) !== undefined && (await exists(join(this.attemptsDir, name, 'run-log.json')))
    );
  }
}
