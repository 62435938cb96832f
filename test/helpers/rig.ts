import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onTestFinished } from 'vitest';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(REPO, 'dist/pipeline/cli.js');
export const FIXTURE_HARNESS = join(REPO, 'test/fixtures/harness.mjs');
export const TOKEN = 'sk-test-9f8e7d6c5b4a39281706';

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A project in a temp dir: a config, benchmarks, and the CLI run in it as a real process. */
export interface Rig {
  dir: string;
  countFile: string;
  write(files: Record<string, string>): Promise<void>;
  read(path: string): Promise<string>;
  exists(path: string): boolean;
  ls(path: string): Promise<string[]>;
  /** `via`: a program the CLI runs under (`/usr/bin/time -f ...`, say), with its arguments. */
  cli(args: string[], env?: NodeJS.ProcessEnv, via?: string[]): Promise<CliResult>;
  spawnCli(
    args: string[],
    env?: NodeJS.ProcessEnv,
    via?: string[],
  ): { child: ChildProcess; done: Promise<CliResult> };
  invocations(): Promise<number>;
}

/** runner.yaml for a benchmark the fixture harness `t` may run. */
export function runnerYaml(slug: string, extra: Record<string, string> = {}): string {
  const fields: Record<string, string> = {
    name: slug,
    display_name: `Test ${slug}`,
    state_mode: 'greenfield',
    attempts_default: '3',
    prompt_file: 'prompt.md',
    model_visible_files: '\n  - prompt.md\n  - context.md',
    allowed_harnesses: '\n  - t\n  - claude-code\n  - opencode',
    ...extra,
  };
  return `${Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n')}\n`;
}

/** A benchmark package: runner.yaml, prompt, context and a scorecard that must never leak. */
export function benchmarkFiles(slug: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    [`benchmarks/${slug}/runner.yaml`]: runnerYaml(slug, extra),
    [`benchmarks/${slug}/prompt.md`]: `# ${slug}\nWrite out.txt.\n`,
    [`benchmarks/${slug}/context.md`]: 'Some context.\n',
    [`benchmarks/${slug}/scorecard.md`]: 'SCORECARD-SECRET criteria\n',
  };
}

/** bench.config.mjs declaring the fixture harness as `t`, with TEST_TOKEN as its token. */
export function configFile(extra = ''): string {
  return `export default {
  harnesses: {
    t: {
      command: [${JSON.stringify(process.execPath)}, ${JSON.stringify(FIXTURE_HARNESS)}],
      versionCommand: [${JSON.stringify(process.execPath)}, ${JSON.stringify(FIXTURE_HARNESS)}, '--version'],
      tokenEnv: 'TEST_TOKEN',
      env: { EXTRA: 'from-config' },
    },
  },
  ${extra}
};
`;
}

export async function makeRig(files: Record<string, string> = {}, parent = tmpdir()): Promise<Rig> {
  const dir = await mkdtemp(join(parent, 'bp-test-'));
  const cacheDir = join(dir, '.cache');
  const countFile = join(dir, 'invocations.txt');
  if (!process.env.KEEP_TEST_DIRS) {
    onTestFinished(async () => {
      await rm(dir, { recursive: true, force: true });
    });
  }
  const baseEnv = (env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    ...process.env,
    BENCH_PIPELINE_CACHE_DIR: cacheDir,
    COUNT_FILE: countFile,
    TEST_TOKEN: TOKEN,
    ...env,
  });
  const spawnCli = (args: string[], env?: NodeJS.ProcessEnv, via: string[] = []) => {
    const [program, ...rest] = [...via, process.execPath, CLI, ...args] as [string, ...string[]];
    const child = spawn(program, rest, {
      cwd: dir,
      env: baseEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const done = new Promise<CliResult>((resolveDone) =>
      child.on('close', (code, signal) => resolveDone({ code, signal, stdout, stderr })),
    );
    return { child, done };
  };
  const rig: Rig = {
    dir,
    countFile,
    async write(more) {
      for (const [path, content] of Object.entries(more)) {
        await mkdir(dirname(join(dir, path)), { recursive: true });
        await writeFile(join(dir, path), content);
      }
    },
    read: (path) => readFile(join(dir, path), 'utf8'),
    exists: (path) => existsSync(join(dir, path)),
    ls: async (path) => (existsSync(join(dir, path)) ? (await readdir(join(dir, path))).sort() : []),
    cli: (args, env, via) => spawnCli(args, env, via).done,
    spawnCli,
    async invocations() {
      if (!existsSync(countFile)) return 0;
      return (await readFile(countFile, 'utf8')).split('\n').filter(Boolean).length;
    },
  };
  await rig.write({ 'bench.config.mjs': configFile(), ...files });
  return rig;
}

/** Every file under `root` as a relative path with `/` separators, sorted. */
export async function relativeFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort();
}

/** Every file under `root`, recursively, with its content. */
export async function allFiles(root: string): Promise<{ path: string; content: Buffer }[]> {
  const out: { path: string; content: Buffer }[] = [];
  if (!existsSync(root)) return out;
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    out.push({ path, content: await readFile(path) });
  }
  return out;
}

export const sleep = (ms: number) => new Promise((resolveSleep) => setTimeout(resolveSleep, ms));

/** Polls until `check` holds, or fails after `ms`. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  ms = 20_000,
  what = 'condition',
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

/** Whether a process runs; a zombie (dead, not yet reaped by a reparenting init) does not count. */
export async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
