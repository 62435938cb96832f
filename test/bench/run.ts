/**
 * Performance figures of bench-pipeline, each printed beside a baseline measured in the same run
 * on the same machine, with the ratio and the goal. Run by `npm run bench` (after a build). It only
 * prints: wall time depends on the machine, so nothing here is asserted. Exit code 1 means a figure
 * could not be measured at all (a command failed or hung), never that a goal was missed.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Manifest from '../../pipeline/manifest.js';
import type * as Redact from '../../pipeline/redact.js';
import type * as State from '../../pipeline/state.js';
import type * as Task from '../../pipeline/task.js';
import type * as Visible from '../../pipeline/visible-files.js';
import type * as Seed from '../../tasks/seed-workspace.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const CLI = join(REPO, 'dist/pipeline/cli.js');
const NODE = process.execPath;
const REPS = 5;
/** Each seeding repetition copies 3 GB in all, so that figure takes fewer. */
const SEED_REPS = 3;
/** The trivial harness; the direct-spawn baseline runs the very same command. */
const HARNESS = ['true'];
const FRESH_ATTEMPTS = 50;
const SEED_FILES = 5_000;
const SEED_DIRS = 50;
const SEED_COPIES = 10;

const root = mkdtempSync(join(tmpdir(), 'bench-pipeline-bench-'));
const project = join(root, 'project');
const scratch = join(root, 'scratch');
/** The CLI's host-version cache and its attempt workspaces (under os.tmpdir()) stay in `root`. */
const env = { ...process.env, BENCH_PIPELINE_CACHE_DIR: join(root, 'cache'), TMPDIR: join(root, 'tmp') };
mkdirSync(env.TMPDIR, { recursive: true });

interface Exit {
  ms: number;
  code: number | null;
  tail: string;
}

/** Spawns argv and times it to the close of its output; killed after `timeoutMs`. */
function timed(argv: readonly string[], timeoutMs = 120_000): Promise<Exit> {
  const [program, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(program, args, { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const keep = (chunk: Buffer) => {
      tail = (tail + chunk.toString()).slice(-1_000);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ ms: performance.now() - started, code, tail });
    });
  });
}

/** The exit of a command that had to succeed (and print `expect`, when given). */
function ok(exit: Exit, what: string, expect?: string): Exit {
  const why = exit.code === null ? 'was killed (hung past its time limit)' : `exited ${exit.code}`;
  if (exit.code !== 0) throw new Error(`${what} ${why}:\n${exit.tail}`);
  if (expect && !exit.tail.includes(expect))
    throw new Error(`${what} did not print "${expect}":\n${exit.tail}`);
  return exit;
}

const cli = (args: string[], timeoutMs?: number) => timed([NODE, CLI, ...args], timeoutMs);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

async function medianOf(once: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let rep = 0; rep < REPS; rep++) xs.push(await once());
  return median(xs);
}

function writeBenchmark(slug: string, mode: 'greenfield' | 'brownfield'): string {
  const dir = join(project, 'benchmarks', slug);
  mkdirSync(dir, { recursive: true });
  const visible = mode === 'brownfield' ? '[prompt.md, baseline]' : '[prompt.md]';
  writeFileSync(
    join(dir, 'runner.yaml'),
    `name: ${slug}\nstate_mode: ${mode}\nattempts_default: 3\nprompt_file: prompt.md\n` +
      `model_visible_files: ${visible}\nallowed_harnesses: [t]\n`,
  );
  writeFileSync(join(dir, 'prompt.md'), `# ${slug}\n\nDo nothing.\n`);
  return dir;
}

const COLUMNS = ['figure', 'value', 'baseline', 'ratio', 'goal', 'verdict'] as const;
type Row = Record<(typeof COLUMNS)[number], string>;
const rows: Row[] = [];
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const msec = (ms: number) => `${ms.toFixed(1)} ms`;

/** Prints one figure beside its baseline and keeps it for the final table. */
function report(figure: string, value: string, baseline: string, ratio: number, goal: string, met: boolean) {
  const verdict = met ? 'met' : 'NOT met';
  const r = `${ratio.toFixed(2)}x`;
  console.log(`${figure}: ${value} (baseline ${baseline}; ratio ${r}); goal ${goal}: ${verdict}`);
  rows.push({ figure, value, baseline, ratio: r, goal, verdict });
}

const dist = async <T>(path: string) => (await import(pathToFileURL(join(REPO, 'dist', path)).href)) as T;

/** Figure 1: `plan` and a no-op `run` over 1,000 attempts that are all complete. */
async function planOverCompleteAttempts(startup: number): Promise<void> {
  writeBenchmark('many', 'greenfield');
  const select = ['many', '--harness', 't', '--attempts', '1000'];
  const fill = ok(await cli(['run', ...select, '--concurrency', '8', '--clean'], 900_000), 'populating run');
  console.log(`(made the 1,000 complete attempts in ${sec(fill.ms)} at concurrency 8)`);
  const base = `node startup ${sec(startup)}`;
  const plan = await medianOf(async () => ok(await cli(['plan', ...select]), 'plan', '1000 done').ms);
  report('plan over 1000 complete attempts', sec(plan), base, plan / startup, '< 0.5 s', plan < 500);
  const nothing = '0 to run, 1000 already done';
  const noop = await medianOf(async () => ok(await cli(['run', ...select]), 'no-op run', nothing).ms);
  report('no-op run over 1000 complete attempts', sec(noop), base, noop / startup, '< 0.5 s', noop < 500);
}

/** Figure 2: what the engine adds to each lite-mode attempt beyond spawning the harness itself. */
async function overheadPerAttempt(startup: number): Promise<void> {
  const pipeline: number[] = [];
  const direct: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    // A fresh benchmark each time, so that every attempt really runs.
    const dir = writeBenchmark(`fresh-${rep}`, 'greenfield');
    const args = ['run', `fresh-${rep}`, '--harness', 't', '--attempts', `${FRESH_ATTEMPTS}`];
    pipeline.push(ok(await cli([...args, '--concurrency', '1', '--clean']), 'fresh run').ms);
    const made = readdirSync(join(dir, 'eval-attempts')).length;
    if (made !== FRESH_ATTEMPTS) throw new Error(`fresh run made ${made} attempts, not ${FRESH_ATTEMPTS}`);
    let total = 0;
    for (let i = 0; i < FRESH_ATTEMPTS; i++) total += ok(await timed([...HARNESS, 'prompt']), 'harness').ms;
    direct.push(total);
  }
  const [wall, spawns] = [median(pipeline), median(direct)];
  const overhead = (wall - startup - spawns) / FRESH_ATTEMPTS;
  const perSpawn = spawns / FRESH_ATTEMPTS;
  console.log(
    `(run wall ${sec(wall)} = node startup ${sec(startup)} + direct spawns ${sec(spawns)} + overhead)`,
  );
  const each = pipeline.map((p, i) => (p - startup - direct[i]!) / FRESH_ATTEMPTS).sort((a, b) => a - b);
  console.log(`(overhead per attempt in each run, sorted: ${each.map(msec).join(', ')})`);
  const base = `direct spawn ${msec(perSpawn)}`;
  report('engine overhead per attempt', msec(overhead), base, overhead / perSpawn, '< 30 ms', overhead < 30);
}

/** A brownfield benchmark whose baseline has SEED_FILES files of random bytes in SEED_DIRS directories. */
function writeBaseline(): string {
  const dir = writeBenchmark('brown', 'brownfield');
  let bytes = 0;
  for (let i = 0; i < SEED_FILES; i++) {
    const sub = join(dir, 'baseline', `d${String(i % SEED_DIRS).padStart(2, '0')}`);
    mkdirSync(sub, { recursive: true });
    const size = 1_024 * (1 + ((i * 7_919) % 38)); // 1 to 38 KiB, 20 KiB on average
    writeFileSync(join(sub, `f${String(i).padStart(4, '0')}.bin`), randomBytes(size));
    bytes += size;
  }
  console.log(`(baseline: ${SEED_FILES} files in ${SEED_DIRS} directories, ${(bytes / 1e6).toFixed(0)} MB)`);
  return dir;
}

/** Figure 3: the seed-workspace path (from dist, in this process) against `cp -r`, cold and warm. */
async function seeding(): Promise<void> {
  const dir = writeBaseline();
  const { loadBenchmark } = await dist<typeof Manifest>('pipeline/manifest.js');
  const { statePaths } = await dist<typeof State>('pipeline/state.js');
  const { taskKey } = await dist<typeof Task>('pipeline/task.js');
  const { Redactor } = await dist<typeof Redact>('pipeline/redact.js');
  const { scanVisibleFiles, hashInventory } = await dist<typeof Visible>('pipeline/visible-files.js');
  const { seedWorkspace, materializeWorkspace } = await dist<typeof Seed>('tasks/seed-workspace.js');
  const paths = statePaths(dir);
  /**
   * Before each timed repetition: remove the previous copies, then `sync`, so that no repetition
   * pays for writing back the gigabyte the one before it left dirty in the page cache.
   */
  const settle = async (alsoRemove?: string) => {
    rmSync(scratch, { recursive: true, force: true });
    if (alsoRemove) rmSync(alsoRemove, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    ok(await timed(['sync']), 'sync');
  };
  const copyAll = async () => {
    await settle();
    let total = 0;
    for (let i = 0; i < SEED_COPIES; i++)
      total += ok(await timed(['cp', '-r', join(dir, 'baseline'), join(scratch, `${i}`)]), 'cp -r').ms;
    return total;
  };
  /** Scan + hash (stat-cache hits when warm) + build the template (found when warm) + the workspaces. */
  const seedAll = async (cold: boolean) => {
    await settle(cold ? paths.root : undefined);
    const started = performance.now();
    const { inventory } = await scanVisibleFiles(await loadBenchmark(dir));
    await hashInventory(inventory, paths.statCache, true);
    const input = { stateMode: 'brownfield' as const, inventory, paths };
    const key = taskKey(seedWorkspace, input);
    const ctx = { key, signal: new AbortController().signal, emit: () => {}, redactor: new Redactor([]) };
    const seed = await seedWorkspace.run(input, ctx);
    for (let i = 0; i < SEED_COPIES; i++) await materializeWorkspace(seed, join(scratch, `${i}`));
    const ms = performance.now() - started;
    if (seed.files !== SEED_FILES + 1) throw new Error(`the template has ${seed.files} files`);
    return ms;
  };

  await copyAll(); // warm-up, untimed: from here on every reader finds the baseline in the page cache
  const cp: number[] = [];
  const cold: number[] = [];
  const warm: number[] = [];
  for (let rep = 0; rep < SEED_REPS; rep++) {
    // Interleaved, so that a slow spell of the machine hits all three alike.
    cp.push(await copyAll());
    cold.push(await seedAll(true));
    warm.push(await seedAll(false));
  }
  const [base, c, w] = [median(cp), median(cold), median(warm)];
  const runs = (xs: number[]) =>
    [...xs]
      .sort((a, b) => a - b)
      .map(sec)
      .join(', ');
  console.log(`(each run, sorted: cp -r ${runs(cp)}; cold ${runs(cold)}; warm ${runs(warm)})`);
  const baseText = `${SEED_COPIES}x cp -r ${sec(base)}`;
  report(`seed ${SEED_COPIES} workspaces, cold`, sec(c), baseText, c / base, '<= 1.0x', c <= base);
  report(`seed ${SEED_COPIES} workspaces, warm`, sec(w), baseText, w / base, '<= 1.0x', w <= base);
  rmSync(scratch, { recursive: true, force: true });
}

/** Runs one figure; a failure is reported and the other figures still run. */
async function section(name: string, body: () => Promise<void>): Promise<void> {
  console.log(`\n== ${name}`);
  try {
    await body();
  } catch (error) {
    process.exitCode = 1;
    console.log(`could not measure: ${error instanceof Error ? error.message : String(error)}`);
    const blank = { baseline: '-', ratio: '-', goal: '-' };
    rows.push({ figure: name, value: 'error', ...blank, verdict: 'not measured' });
  }
}

function printTable(): void {
  const width = (c: keyof Row) => Math.max(c.length, ...rows.map((r) => r[c].length));
  const line = (cell: (c: keyof Row) => string) => COLUMNS.map((c) => cell(c).padEnd(width(c))).join('  ');
  console.log(`\n${line((c) => c)}\n${line((c) => '-'.repeat(width(c)))}`);
  for (const r of rows) console.log(line((c) => r[c]).trimEnd());
}

try {
  mkdirSync(project, { recursive: true });
  const command = JSON.stringify(HARNESS);
  const version = `['sh', '-c', 'echo t 1.0']`;
  const config = `export default { harnesses: { t: { command: ${command}, versionCommand: ${version} } } };\n`;
  writeFileSync(join(project, 'bench.config.mjs'), config);
  console.log(
    `bench-pipeline bench: node ${process.version}, median of ${REPS} runs (${SEED_REPS} for seeding), scratch ${root}`,
  );
  const startup = await medianOf(async () => ok(await timed([NODE, '-e', '0']), 'node -e 0').ms);
  await section('1. plan and a no-op run over 1,000 complete attempts', () =>
    planOverCompleteAttempts(startup),
  );
  await section(`2. engine overhead per attempt (lite mode, ${FRESH_ATTEMPTS} attempts, concurrency 1)`, () =>
    overheadPerAttempt(startup),
  );
  await section(`3. seeding a ${SEED_FILES}-file, 100 MB baseline into ${SEED_COPIES} workspaces`, seeding);
  printTable();
} finally {
  rmSync(root, { recursive: true, force: true });
}
