import { execFile } from 'node:child_process';
import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { writeJsonAtomic } from './fs-atomic.js';
import { canonicalJson } from './keys.js';
import { readStored } from './stored.js';

/** The host runtimes recorded for lite-mode attempts; their versions are part of the attempt key. */
export const HOST_RUNTIMES: Record<string, string[]> = {
  node: ['node', '--version'],
  python3: ['python3', '--version'],
  go: ['go', 'version'],
  dotnet: ['dotnet', '--version'],
  java: ['java', '-version'],
};

/** Finds `program` on PATH like a shell would; undefined when it is not there. */
export async function which(program: string, path = process.env.PATH ?? ''): Promise<string | undefined> {
  if (program.includes('/')) return (await isExecutable(program)) ? program : undefined;
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, program);
    if (await isExecutable(candidate)) return candidate;
  }
  return undefined;
}

async function isExecutable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** The directory for machine-level caches (not benchmark state): versions of host programs. */
export function cacheDir(): string {
  return (
    process.env.BENCH_PIPELINE_CACHE_DIR ??
    join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'bench-pipeline')
  );
}

/** `versions.json`: each version command's answer, by the fingerprint of the files it ran. */
export const versionsSchema = z.record(z.string(), z.object({ fingerprint: z.string(), output: z.string() }));

type CacheEntry = z.output<typeof versionsSchema>[string];

/**
 * Runs version commands (`node --version`, `claude --version`) and remembers their answers by
 * the identity of the files involved (real path, size, mtime, inode of the program and of any
 * file argument), so `plan` and a no-op `run` spawn nothing while the host is unchanged.
 */
export class VersionProbe {
  #entries: Record<string, CacheEntry> = {};
  #dirty = false;
  readonly #file = join(cacheDir(), 'versions.json');
  readonly #memo = new Map<string, Promise<string | undefined>>();

  async load(): Promise<this> {
    const read = await readStored(this.#file, versionsSchema);
    this.#entries = read.ok ? read.value : {};
    return this;
  }

  /** Saves new answers; `plan` never calls this, so it has no side effects. */
  async save(): Promise<void> {
    if (!this.#dirty) return;
    await writeJsonAtomic(this.#file, this.#entries).catch(() => {
      // A cache that cannot be written only costs time on the next run.
    });
    this.#dirty = false;
  }

  /** The first line the command prints, or undefined when its program is not on PATH. */
  version(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
    const id = canonicalJson(argv);
    let pending = this.#memo.get(id);
    if (!pending) {
      pending = this.#probe(argv, id, env);
      this.#memo.set(id, pending);
    }
    return pending;
  }

  async hostRuntimes(): Promise<Record<string, string>> {
    const entries = await Promise.all(
      Object.entries(HOST_RUNTIMES).map(async ([name, argv]) => [name, await this.version(argv)] as const),
    );
    return Object.fromEntries(entries.filter((e): e is [string, string] => e[1] !== undefined));
  }

  async #probe(argv: readonly string[], id: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
    const [program, ...args] = argv;
    if (!program) return undefined;
    const resolved = await which(program, env.PATH);
    if (!resolved) return undefined;
    const fingerprint = await this.#fingerprint([resolved, ...args]);
    const cached = this.#entries[id];
    if (cached && cached.fingerprint === fingerprint) return cached.output;
    const output = await runVersionCommand(resolved, args, env);
    if (output === undefined) return undefined;
    this.#entries[id] = { fingerprint, output };
    this.#dirty = true;
    return output;
  }

  async #fingerprint(files: readonly string[]): Promise<string> {
    const parts = await Promise.all(
      files.map(async (f) => {
        if (!isAbsolute(f)) return f;
        try {
          const real = await realpath(f);
          const s = await stat(real);
          return [real, s.size, s.mtimeMs, s.ino];
        } catch {
          return f;
        }
      }),
    );
    return canonicalJson(parts);
  }
}

function runVersionCommand(
  program: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<string | undefined> {
  return new Promise((resolvePromise) => {
    execFile(program, args, { timeout: 15_000, env, encoding: 'utf8' }, (error, stdout, stderr) => {
      // `java -version` answers on stderr; some CLIs exit non-zero but still print a version.
      const line = `${stdout}\n${stderr}`
        .split('\n')
        .map((l) => l.trim())
        .find((l) => l.length > 0);
      resolvePromise(line ?? (error ? undefined : ''));
    });
  });
}
