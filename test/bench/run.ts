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
    // A fresh benchmark each time, so that every attempt really runs; a settled disk, so that no
    // run waits on the write-back of what the one before it (or figure 1) left dirty.
    const dir = writeBenchmark(`fresh-${rep}`, 'greenfield');
    ok(await timed(['sync']), 'sync');
    const args = ['run', `fresh-${rep}`, '--harness', 't', '--attempts', `${FRESH_ATTEMPTS}`];
    pipeline.push(ok(await cli([...args, '--concurrency', '1', '--clean']), 'fresh run').ms);
    const made = readdirSync(join(dir, 'eval-attempts')).length;
    if (made !== FRESH_ATTEMPTS) throw new Error(`fresh run made ${made} attempts, not ${FRESH_ATTEMPTS}`);
    let total = 0;
    for (let i = 0; i < FRESH_ATTEMPTS; i++) total += ok(await timed([...HARNESS, 'prompt']), 'harness').ms;
    direct.push(total);
  }
  const [wall, spawns] = [median(pipeline), median(direct)];
  const perSpawn = spawns / FRESH_ATTEMPTS;
  console.log(
    `(run wall ${sec(wall)} = node startup ${sec(startup)} + direct spawns ${sec(spawns)} + overhead)`,
  );
  const each = pipeline.map((p, i) => (p - startup - direct[i]!) / FRESH_ATTEMPTS);
  const overhead = median(each);
  console.log(`(overhead per attempt in each run: ${each.map(msec).join(', ')}; the figure is their median)`);
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

/**
 * Figure 3: the seed-workspace path (from dist, in this process) against `cp -r`, cold (no
 * template yet) and warm. The disk's write-back state weighs more than either copier, so each
 * workspace copy is timed right beside a `cp -r` of the baseline, the two taking turns going
 * first: whatever state the disk is in, both sides meet it alike.
 */
async function seeding(): Promise<void> {
  const dir = writeBaseline();
  const { loadBenchmark } = await dist<typeof Manifest>('pipeline/manifest.js');
  const { statePaths } = await dist<typeof State>('pipeline/state.js');
  const { taskKey } = await dist<typeof Task>('pipeline/task.js');
  const { Redactor } = await dist<typeof Redact>('pipeline/redact.js');
  const { scanVisibleFiles, hashInventory } = await dist<typeof Visible>('pipeline/visible-files.js');
  const { seedWorkspace, materializeWorkspace } = await dist<typeof Seed>('tasks/seed-workspace.js');
  const paths = statePaths(dir);

  /** One repetition: scan + hash + find or build the template, then the workspaces; ms of each side. */
  const seedAll = async (cold: boolean) => {
    // Start from a settled disk: no repetition pays for the gigabytes the one before it left dirty.
    rmSync(scratch, { recursive: true, force: true });
    if (cold) rmSync(paths.root, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    ok(await timed(['sync']), 'sync');
    const started = performance.now();
    const { inventory } = await scanVisibleFiles(await loadBenchmark(dir));
    await hashInventory(inventory, paths.statCache, true);
    const input = { stateMode: 'brownfield' as const, inventory, paths };
    const key = taskKey(seedWorkspace, input);
    const ctx = { key, signal: new AbortController().signal, emit: () => {}, redactor: new Redactor([]) };
    const seed = await seedWorkspace.run(input, ctx);
    if (seed.files !== SEED_FILES + 1) throw new Error(`the template has ${seed.files} files`);
    let ours = performance.now() - started;
    let cp = 0;
    for (let i = 0; i < SEED_COPIES; i++) {
      const copy = async () => {
        cp += ok(await timed(['cp', '-r', join(dir, 'baseline'), join(scratch, `cp-${i}`)]), 'cp -r').ms;
      };
      const materialize = async () => {
        const t = performance.now();
        await materializeWorkspace(seed, join(scratch, `ws-${i}`));
        ours += performance.now() - t;
      };
      for (const step of i % 2 ? [materialize, copy] : [copy, materialize]) await step();
    }
    return { ours, cp };
  };

  await seedAll(true); // warm-up, untimed: from here on every reader finds the baseline in the page cache
  const figures = { cold: [] as { ours: number; cp: number }[], warm: [] as { ours: number; cp: number }[] };
  for (let rep = 0; rep < REPS; rep++) {
    figures.cold.push(await seedAll(true));
    figures.warm.push(await seedAll(false));
  }
  for (const [name, runs] of Object.entries(figures)) {
    const [ours, cp] = [median(runs.map((r) => r.ours)), median(runs.map((r) => r.cp))];
    // The two sides of a run met the same disk, so the ratio is taken within each run.
    const ratio = median(runs.map((r) => r.ours / r.cp));
    const each = runs.map((r) => `${sec(r.ours)} vs ${sec(r.cp)} = ${(r.ours / r.cp).toFixed(2)}x`);
    console.log(`(${name}, each run: ${each.join('; ')}; the ratio is the median of these)`);
    const base = `${SEED_COPIES}x cp -r ${sec(cp)}`;
    report(`seed ${SEED_COPIES} workspaces, ${name}`, sec(ours), base, ratio, '<= 1.0x', ratio <= 1);
  }
  rmSync(scratch, { recursive: true, force: true });
}

/** `npm run bench -- 3` measures figure 3 alone. */
const only = process.argv.slice(2);

/** Runs one figure; a failure is reported and the other figures still run. */
async function section(name: string, body: () => Promise<void>): Promise<void> {
  if (only.length && !only.some((n) => name.startsWith(`${n}.`))) return;
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
  console.log(`bench-pipeline bench: node ${process.version}, median of ${REPS} runs, scratch ${root}`);
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
