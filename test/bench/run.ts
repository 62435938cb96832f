/**
 * Performance figures of bench-pipeline, each printed beside a baseline measured in the same run
 * on the same machine, with the ratio and the goal. Run by `npm run bench` (after a build). It only
 * prints: wall time depends on the machine, so nothing here is asserted. Exit code 1 means a figure
 * could not be measured at all (a command failed or hung), never that a goal was missed. Without
 * a Docker engine the docker figures are skipped, and say so.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer as createHttpServer, Agent as HttpAgent, request as httpRequest } from 'node:http';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Lifecycle from '../../pipeline/attempt-lifecycle.js';
import type * as Attempts from '../../pipeline/attempts.js';
import type * as GatewayServer from '../../pipeline/gateway/server.js';
import type * as InventoryHash from '../../pipeline/inventory-hash.js';
import type * as Keys from '../../pipeline/keys.js';
import type * as Manifest from '../../pipeline/manifest.js';
import type * as Markers from '../../pipeline/markers.js';
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
/** Figure 7's brownfield attempts a batch, each published from a workspace the harness changed. */
const BROWN_ATTEMPTS = 10;
/**
 * Figure 7's harness: changes a few files of its brownfield workspace, as an agent would (one
 * rewritten, one appended to, one removed, two new), and exits.
 */
const EDIT_HARNESS = [
  'sh',
  '-c',
  'printf changed > d00/f0000.bin && echo appended >> d01/f0001.bin && rm d02/f0002.bin && ' +
    'mkdir -p notes && echo added > notes/new.txt && echo done > out.txt',
];
/** The docker suite's base image (test/docker/engine.sh makes it); the docker figures build on it. */
const DOCKER_BASE = 'bench-pipeline-test/busybox:1';
/** The docker figures' image, a repository of its own: other suites may be using the engine meanwhile. */
const DOCKER_REPO = 'bench-pipeline-bench/exit-0';
const DOCKER_ATTEMPTS = 10;
/** Figure 6's streamed model calls of each path, in rounds that take turns going first. */
const GATEWAY_REQUESTS = 1_000;
const GATEWAY_ROUNDS = 10;
const GATEWAY_WARMUP = 200;
/** Between the fake API's SSE events, so that the first byte and the whole answer are apart. */
const SSE_GAP_MS = 2;
/** Figure 8: claims of `--more` attempts, timed on benchmarks of these many complete attempts. */
const CLAIM_SIZES = [100, 10_000] as const;
const CLAIMS = 200;

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

/** The nearest-rank 90th percentile. */
const p90 = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.ceil(xs.length * 0.9) - 1]!;

async function medianOf(once: () => Promise<number>): Promise<number> {
  const xs: number[] = [];
  for (let rep = 0; rep < REPS; rep++) xs.push(await once());
  return median(xs);
}

function writeBenchmark(slug: string, mode: 'greenfield' | 'brownfield', image?: string): string {
  const dir = join(project, 'benchmarks', slug);
  mkdirSync(dir, { recursive: true });
  const visible = mode === 'brownfield' ? '[prompt.md, baseline]' : '[prompt.md]';
  writeFileSync(
    join(dir, 'runner.yaml'),
    `name: ${slug}\nstate_mode: ${mode}\nattempts_default: 3\nprompt_file: prompt.md\n` +
      `model_visible_files: ${visible}\nallowed_harnesses: [t, edit]\n${image ? `image: ${image}\n` : ''}`,
  );
  writeFileSync(join(dir, 'prompt.md'), `# ${slug}\n\nDo nothing.\n`);
  return dir;
}

const COLUMNS = ['figure', 'value', 'baseline', 'ratio', 'goal', 'verdict'] as const;
type Row = Record<(typeof COLUMNS)[number], string>;
const rows: Row[] = [];
const sec = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const msec = (ms: number, digits = 1) => `${ms.toFixed(digits)} ms`;

/** Prints one figure beside its baseline and keeps it for the final table. */
function report(figure: string, value: string, baseline: string, ratio: number, goal: string, met: boolean) {
  const verdict = met ? 'met' : 'NOT met';
  const r = `${ratio.toFixed(2)}x`;
  console.log(`${figure}: ${value} (baseline ${baseline}; ratio ${r}); goal ${goal}: ${verdict}`);
  rows.push({ figure, value, baseline, ratio: r, goal, verdict });
}

const dist = async <T>(path: string) => (await import(pathToFileURL(join(REPO, 'dist', path)).href)) as T;

/** GNU time, for a command's peak resident set size as the kernel counted it (`.ci/run` installs it). */
const GNU_TIME = '/usr/bin/time';
const RSS_MARK = 'bench-peak-rss-kb=';

interface Sized extends Exit {
  /** Peak resident set size in KiB; undefined without GNU time. */
  rssKb: number | undefined;
}

/** `argv` timed as `timed` does, under GNU time when there is one, for its peak RSS too. */
async function sized(argv: string[], timeoutMs?: number): Promise<Sized> {
  if (!existsSync(GNU_TIME)) return { ...(await timed(argv, timeoutMs)), rssKb: undefined };
  const exit = await timed([GNU_TIME, '-f', `${RSS_MARK}%M`, ...argv], timeoutMs);
  const kb = new RegExp(`${RSS_MARK}(\\d+)`).exec(exit.tail)?.[1];
  return { ...exit, rssKb: kb === undefined ? undefined : Number(kb) };
}

/** The median wall time and peak RSS of REPS runs of `argv`, each of which must succeed and print `expect`. */
async function medianSized(argv: string[], what: string, expect?: string) {
  const runs: Sized[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    const exit = await sized(argv);
    ok(exit, what, expect);
    runs.push(exit);
  }
  const rss = runs.flatMap((r) => (r.rssKb === undefined ? [] : [r.rssKb]));
  return { ms: median(runs.map((r) => r.ms)), rssKb: rss.length ? median(rss) : undefined };
}

const mib = (kb: number) => `${(kb / 1024).toFixed(0)} MiB`;

/**
 * Makes `many` hold attempts 1..`to` by copying attempts 1..`from` (made by a real run): each copy
 * is a complete attempt as a run would have written it, its run-log naming its own index, with
 * the key the engine computes for that index (the plan that follows checks every one of them).
 * A real run of 10,000 attempts takes minutes; the copies take seconds.
 */
async function copyAttempts(from: number, to: number): Promise<void> {
  const { canonicalJson, sha256 } = await dist<typeof Keys>('pipeline/keys.js');
  const attempts = join(project, 'benchmarks', 'many', 'eval-attempts');
  for (let n = from + 1; n <= to; n++) {
    const source = join(attempts, `t-default-attempt-${((n - 1) % from) + 1}`);
    const target = join(attempts, `t-default-attempt-${n}`);
    mkdirSync(target);
    for (const file of readdirSync(source))
      if (file !== 'run-log.json') copyFileSync(join(source, file), join(target, file));
    const log = JSON.parse(readFileSync(join(source, 'run-log.json'), 'utf8'));
    log.attempt = n;
    log.preimage.params.n = n;
    log.key = sha256(canonicalJson(log.preimage));
    writeFileSync(join(target, 'run-log.json'), `${JSON.stringify(log, null, 2)}\n`);
  }
}

/**
 * Figure 1: `plan` and a no-op `run` over attempts that are all complete, 1,000 and 10,000 of
 * them, so that what each attempt adds shows; wall time, and peak RSS at 10,000.
 */
async function planOverCompleteAttempts(startup: number): Promise<void> {
  writeBenchmark('many', 'greenfield');
  const select = (n: number) => ['many', '--harness', 't', '--attempts', `${n}`];
  const fill = ok(
    await cli(['run', ...select(1_000), '--concurrency', '8', '--clean'], 900_000),
    'populating run',
  );
  console.log(`(made the 1,000 complete attempts in ${sec(fill.ms)} at concurrency 8)`);
  const nodeRss = (await medianSized([NODE, '-e', '0'], 'node -e 0')).rssKb;
  const base = `node startup ${sec(startup)}`;
  const measure = async (n: number) => {
    const count = n.toLocaleString('en');
    const plan = await medianSized([NODE, CLI, 'plan', ...select(n)], 'plan', `${n} done`);
    report(
      `plan over ${n} complete attempts`,
      sec(plan.ms),
      base,
      plan.ms / startup,
      '< 0.5 s',
      plan.ms < 500,
    );
    const nothing = `0 to run, ${n} already done`;
    const noop = await medianSized([NODE, CLI, 'run', ...select(n)], 'no-op run', nothing);
    report(
      `no-op run over ${n} complete attempts`,
      sec(noop.ms),
      base,
      noop.ms / startup,
      '< 0.5 s',
      noop.ms < 500,
    );
    console.log(
      `(peak RSS over ${count}: plan ${plan.rssKb ?? '-'} KiB, no-op run ${noop.rssKb ?? '-'} KiB)`,
    );
    return { plan, noop };
  };
  const small = await measure(1_000);
  const copied = performance.now();
  await copyAttempts(1_000, 10_000);
  console.log(`(copied them to 10,000 complete attempts in ${sec(performance.now() - copied)})`);
  // Untimed: the copies are not in the attempt index yet; this run reads their run-logs and saves it.
  const first = ok(await cli(['run', ...select(10_000)]), 'first no-op run', '0 to run, 10000 already done');
  console.log(`(the first no-op run over 10,000, reading 9,000 run-logs into the index: ${sec(first.ms)})`);
  const large = await measure(10_000);
  const each = (a: number, b: number) => `${(((b - a) / 9_000) * 1_000).toFixed(0)} us`;
  console.log(
    `(each attempt from 1,000 to 10,000 adds: plan ${each(small.plan.ms, large.plan.ms)}, ` +
      `no-op run ${each(small.noop.ms, large.noop.ms)})`,
  );
  if (nodeRss === undefined) {
    console.log(`(peak RSS not measured: no ${GNU_TIME}; apt-get install time)`);
    return;
  }
  for (const [what, r] of [
    ['plan', large.plan.rssKb],
    ['no-op run', large.noop.rssKb],
  ] as const) {
    if (r === undefined) throw new Error(`${GNU_TIME} reported no peak RSS of ${what}`);
    const figure = `${what} peak RSS over 10000 complete attempts`;
    report(figure, mib(r), `node startup ${mib(nodeRss)}`, r / nodeRss, '< 120 MiB', r < 120 * 1024);
  }
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
function writeBaseline(slug = 'brown'): string {
  const dir = writeBenchmark(slug, 'brownfield');
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
  const { scanVisibleFiles } = await dist<typeof Visible>('pipeline/visible-files.js');
  const { hashInventory } = await dist<typeof InventoryHash>('pipeline/inventory-hash.js');
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

/**
 * Figure 7: what BROWN_ATTEMPTS brownfield attempts cost in files, from the seed template to the
 * published attempts: each a fresh workspace, a harness that changes a few files, the collect and
 * the durable publish; against as many `cp -r` of the baseline, the least a fresh workspace each
 * costs. Ours is a batch's run less a run of the same selection with nothing left to do (node,
 * the scan and hash of the baseline, the plan: paid once per invocation, not per attempt). Once
 * with the workspaces kept (the default) and once with --clean. As in figure 3 each side starts
 * from a settled disk and the two take turns going first; the publish makes its data durable,
 * which `cp -r` does not, so that floor (`cp -r` then a sync of the filesystem) is printed beside.
 */
async function brownfieldAttempts(): Promise<void> {
  const slug = 'brown-attempts';
  const dir = writeBaseline(slug);
  const workspaces = join(env.TMPDIR, 'bench-pipeline');
  const select = [slug, '--harness', 'edit', '--attempts', `${BROWN_ATTEMPTS}`, '--concurrency', '1'];
  // Untimed: builds the seed template and the stat cache, which every later run finds.
  ok(await cli(['run', slug, '--harness', 'edit', '--attempts', '1', '--clean']), 'warm-up run');
  const settle = async () => {
    for (const gone of [join(dir, 'eval-attempts'), workspaces, scratch])
      rmSync(gone, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    ok(await timed(['sync']), 'sync');
  };
  const copies = async (then: string[] = []) => {
    let ms = 0;
    for (let i = 0; i < BROWN_ATTEMPTS; i++)
      ms += ok(await timed(['cp', '-r', join(dir, 'baseline'), join(scratch, `cp-${i}`)]), 'cp -r').ms;
    if (then.length) ms += ok(await timed(then), then.join(' ')).ms;
    return ms;
  };
  for (const clean of [false, true]) {
    const runs: { ours: number; cp: number; floor: number; fixed: number }[] = [];
    const flags = clean ? ['--clean'] : [];
    for (let rep = 0; rep < REPS; rep++) {
      const r = { ours: 0, cp: 0, floor: 0, fixed: 0 };
      const ours = async () => {
        await settle();
        const batch = ok(await cli(['run', ...select, ...flags]), 'brownfield batch');
        if (attemptCount(slug) !== BROWN_ATTEMPTS)
          throw new Error(`the batch made ${attemptCount(slug)} attempts`);
        const noop = ok(
          await cli(['run', ...select, ...flags]),
          'no-op run',
          `${BROWN_ATTEMPTS} already done`,
        );
        [r.ours, r.fixed] = [batch.ms - noop.ms, noop.ms];
      };
      const cp = async () => {
        await settle();
        r.cp = await copies();
        await settle();
        r.floor = await copies(['sync', '-f', scratch]);
      };
      for (const step of rep % 2 ? [cp, ours] : [ours, cp]) await step();
      runs.push(r);
    }
    await settle();
    const name = clean ? '--clean' : 'workspaces kept';
    const each = runs.map((r) => `${sec(r.ours)} vs ${sec(r.cp)} = ${(r.ours / r.cp).toFixed(2)}x`);
    console.log(`(${name}, each run: ${each.join('; ')}; the ratio is the median of these)`);
    const [ours, cp, floor] = [
      median(runs.map((r) => r.ours)),
      median(runs.map((r) => r.cp)),
      median(runs.map((r) => r.floor)),
    ];
    console.log(
      `(${name}: per invocation besides ${sec(median(runs.map((r) => r.fixed)))}; ` +
        `${BROWN_ATTEMPTS}x cp -r then sync -f ${sec(floor)}, ours ${(ours / floor).toFixed(2)}x that)`,
    );
    const ratio = median(runs.map((r) => r.ours / r.cp));
    const figure = `${BROWN_ATTEMPTS} brownfield attempts, seed to published, ${name}`;
    report(figure, sec(ours), `${BROWN_ATTEMPTS}x cp -r ${sec(cp)}`, ratio, '<= 1.5x', ratio <= 1.5);
  }
}

/** Thrown by a figure this machine cannot measure (no Docker engine): it is skipped, not failed. */
class Skipped extends Error {}

/** Images the docker figures made, removed when the bench ends. */
const images: string[] = [];

/** Skips the figure unless a Docker engine answers and has the base image. */
async function requireEngine(): Promise<void> {
  // The docker CLI may be missing altogether (spawn fails) or find no engine (exits non-zero).
  const inspect = await timed(['docker', 'image', 'inspect', DOCKER_BASE], 15_000).catch(() => undefined);
  if (inspect?.code !== 0)
    throw new Skipped(`no Docker engine answers with ${DOCKER_BASE} (test/docker/engine.sh sets one up)`);
}

/**
 * Builds `tag`: the busybox base with a run-attempt entrypoint that exits at once. The label makes
 * each figure's image its own, so that removing one tag removes that image.
 */
async function buildExitImage(tag: string, figure: number): Promise<void> {
  const context = join(root, `image-${figure}`);
  mkdirSync(context);
  writeFileSync(join(context, 'run-attempt'), '#!/bin/sh\nexit 0\n', { mode: 0o755 });
  writeFileSync(
    join(context, 'Dockerfile'),
    `FROM ${DOCKER_BASE}\nCOPY run-attempt /usr/local/bin/run-attempt\nENTRYPOINT ["/usr/local/bin/run-attempt"]\n`,
  );
  const label = `bench-pipeline.bench-figure=${figure}`;
  images.push(tag);
  ok(await timed(['docker', 'build', '-q', '--label', label, '-t', tag, context]), 'docker build');
}

/** The number of `eval-attempts/` entries of a benchmark. */
const attemptCount = (slug: string) =>
  readdirSync(join(project, 'benchmarks', slug, 'eval-attempts')).filter((n) => !n.startsWith('.')).length;

/**
 * Figure 4: what a docker-mode attempt costs, of an entrypoint that exits at once, against
 * `docker run --rm` of the same image, mount and args. Ours is the slope between a small and a
 * large batch, so the CLI's cost per invocation (node, loading the Docker client, the engine ping,
 * the plan) is not spread over the attempts; it is printed beside.
 */
async function dockerOverhead(): Promise<void> {
  const image = `${DOCKER_REPO}:4`;
  await requireEngine();
  await buildExitImage(image, 4);
  writeBenchmark('docker', 'greenfield', image);
  const run = ['run', 'docker', '--harness', 't', '--concurrency', '1', '--clean'];
  // Untimed: pins the image (later runs only check runner.lock.yaml) and wakes the engine.
  ok(await cli([...run, '--attempts', '1']), 'warm-up run');
  const workspace = join(root, 'workspace');
  mkdirSync(workspace);
  writeFileSync(join(workspace, 'prompt.md'), '# docker\n\nDo nothing.\n');
  const plain = ['docker', 'run', '--rm', '-v', `${workspace}:/workspace`, image, '--harness', 't'];
  const [small, large] = [DOCKER_ATTEMPTS / 2, DOCKER_ATTEMPTS * 1.5];
  const pipeline: number[] = [];
  const fixed: number[] = [];
  const direct: number[] = [];
  for (let rep = 0; rep < REPS; rep++) {
    // New attempts each time (--more), so that every one of them really runs.
    const batch = async (n: number) => {
      ok(await timed(['sync']), 'sync');
      return ok(await cli([...run, '--more', `${n}`]), 'docker-mode batch').ms;
    };
    const [a, b] = [await batch(small), await batch(large)];
    pipeline.push((b - a) / (large - small));
    fixed.push(a - small * pipeline.at(-1)!);
    let total = 0;
    for (let i = 0; i < DOCKER_ATTEMPTS; i++) total += ok(await timed(plain), 'docker run --rm').ms;
    direct.push(total / DOCKER_ATTEMPTS);
  }
  const made = attemptCount('docker');
  if (made !== 1 + REPS * (small + large)) throw new Error(`the batches made ${made - 1} attempts`);
  const each = pipeline.map((p, i) => `${msec(p)} vs ${msec(direct[i]!)}`);
  console.log(`(per attempt in each rep: ${each.join('; ')}; the figures are their medians)`);
  console.log(`(per invocation besides: ${msec(median(fixed))}, once for a whole batch)`);
  const [ours, theirs] = [median(pipeline), median(direct)];
  const base = `docker run --rm ${msec(theirs)}`;
  const figure = `docker-mode attempt (${small}- vs ${large}-attempt batch)`;
  report(figure, msec(ours), base, ours / theirs, '<= 1.15x', ours / theirs <= 1.15);
}

/** A TCP port on 127.0.0.1 that nothing listens on (as of now). */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });

/** Polls `done` until it holds; past `ms`, that is an error naming `what` was waited for. */
async function until(done: () => boolean, what: string, ms = 15_000): Promise<void> {
  const end = performance.now() + ms;
  while (!done()) {
    if (performance.now() > end) throw new Error(`waited ${ms} ms for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A private registry on a free port, as in the docker suite; its access log counts the pulls. */
async function startRegistry() {
  const host = `127.0.0.1:${await freePort()}`;
  const dir = join(root, 'registry');
  const config = join(dir, 'config.yml');
  mkdirSync(dir);
  writeFileSync(
    config,
    `version: 0.1\nlog:\n  accesslog:\n    disabled: false\nstorage:\n  filesystem:\n    rootdirectory: ${dir}/data\nhttp:\n  addr: ${host}\n`,
  );
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  let missing = false;
  child.once('error', () => {
    missing = true;
  });
  const keep = (chunk: Buffer) => {
    log += chunk.toString();
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  await until(() => missing || log.includes('listening on'), 'the registry to listen');
  if (missing) throw new Skipped('docker-registry (the registry of the docker suite) is not on PATH');
  return {
    host,
    /**
     * Every request for a manifest of `repo` so far (`HEAD /v2/<repo>/manifests/<tag>`, ...): a pull
     * makes one or two. A marker request goes first: once it is in the access log, so is every
     * request before it.
     */
    async manifestRequests(repo: string): Promise<string[]> {
      const marker = `/v2/?marker=${Math.random()}`;
      await fetch(`http://${host}${marker}`);
      await until(() => log.includes(marker), 'the registry access log');
      const asked = new RegExp(`"((GET|HEAD) /v2/${repo}/manifests/\\S+)`, 'g');
      return [...log.matchAll(asked)].map((m) => m[1]!);
    },
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null)
        await new Promise((resolve) => child.once('exit', resolve).kill());
    },
  };
}

/** Figure 5: a second batch of the same attempts on an image from a registry asks the registry nothing. */
async function noSecondPull(): Promise<void> {
  await requireEngine();
  const registry = await startRegistry();
  try {
    const image = `${registry.host}/${DOCKER_REPO}:5`;
    await buildExitImage(image, 5);
    ok(await timed(['docker', 'push', '-q', image]), 'docker push');
    ok(await timed(['docker', 'image', 'rm', image]), 'docker image rm');
    writeBenchmark('pulled', 'greenfield', image);
    const run = ['run', 'pulled', '--harness', 't', '--concurrency', '1', '--clean'];
    const pushed = (await registry.manifestRequests(DOCKER_REPO)).length;
    ok(await cli([...run, '--attempts', `${DOCKER_ATTEMPTS}`]), 'first batch');
    const first = (await registry.manifestRequests(DOCKER_REPO)).slice(pushed);
    if (!first.length) throw new Error('the first batch asked the registry nothing: it did not pull');
    ok(await cli([...run, '--more', `${DOCKER_ATTEMPTS}`]), 'second batch');
    const second = (await registry.manifestRequests(DOCKER_REPO)).length - pushed - first.length;
    const made = attemptCount('pulled');
    if (made !== 2 * DOCKER_ATTEMPTS) throw new Error(`the two batches made ${made} attempts`);
    console.log(`(the first batch's requests, its pull: ${first.join(', ')})`);
    const figure = `registry requests of a second batch of ${DOCKER_ATTEMPTS} attempts`;
    report(figure, `${second}`, `first batch ${first.length}`, second / first.length, '0', second === 0);
  } finally {
    await registry.stop();
  }
}

/** The tokens each answer of the fake model API reports, so the gateway's count can be checked. */
const SERVED = { input: 1_200, output: 48, cacheRead: 2_048, cacheWrite: 256 };
const SSE_MODEL = 'claude-sonnet-4-5';

/** One answer of the fake model API, as Anthropic streams it: one SSE event a write. */
const SSE_EVENTS = (() => {
  const ev = (type: string, data: Record<string, unknown>) =>
    `event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`;
  const usage = {
    input_tokens: SERVED.input,
    output_tokens: 1,
    cache_read_input_tokens: SERVED.cacheRead,
    cache_creation_input_tokens: SERVED.cacheWrite,
  };
  const message = { id: 'msg_bench', type: 'message', role: 'assistant', model: SSE_MODEL, content: [] };
  const text = (part: string) => ({ index: 0, delta: { type: 'text_delta', text: part } });
  return [
    ev('message_start', { message: { ...message, stop_reason: null, stop_sequence: null, usage } }),
    ev('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ev('content_block_delta', text('Nothing to do: ')),
    ev('content_block_delta', text('the task asks for no change, ')),
    ev('content_block_delta', text('so none was made.')),
    ev('content_block_stop', { index: 0 }),
    ev('message_delta', {
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: SERVED.output },
    }),
    ev('message_stop', {}),
  ];
})();
const SSE_BODY = SSE_EVENTS.join('');
/** What the bench's harness holds as its key; the upstream refuses any other (the capability too). */
const GATEWAY_KEY = 'sk-ant-bench-gateway-key';

/**
 * A fake Anthropic API on 127.0.0.1: `POST /v1/messages` streams SSE_EVENTS, the first at once and
 * the others SSE_GAP_MS apart, once the request body is in, as the real one answers.
 */
async function startFakeModelApi() {
  let served = 0;
  const server = createHttpServer((req, res) => {
    req.resume();
    req.once('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/messages' || req.headers['x-api-key'] !== GATEWAY_KEY) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"type":"error","error":{"type":"authentication_error","message":"bad key"}}');
        return;
      }
      served++;
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      // Each event on a clock of its own from the request, not from the write before it: the
      // gateway shares this event loop, and must not slow the API's pace by delaying a callback.
      res.write(SSE_EVENTS[0]);
      SSE_EVENTS.slice(1).forEach((event, i) => {
        const last = i === SSE_EVENTS.length - 2;
        setTimeout(() => (last ? res.end(event) : res.write(event)), (i + 1) * SSE_GAP_MS);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served: () => served,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A streamed model call's times, in ms from the request: to the first body chunk and to its end. */
interface CallTimes {
  ttfb: number;
  total: number;
}

/** One streamed model call to `origin`, its whole answer checked. */
function streamedCall(agent: HttpAgent, origin: string, key: string): Promise<CallTimes> {
  const body = JSON.stringify({
    model: SSE_MODEL,
    max_tokens: 1_024,
    stream: true,
    messages: [{ role: 'user', content: 'Do nothing.' }],
  });
  return new Promise((resolve, reject) => {
    const started = performance.now();
    let ttfb = 0;
    const chunks: Buffer[] = [];
    const req = httpRequest(`${origin}/v1/messages`, {
      method: 'POST',
      agent,
      headers: {
        'content-type': 'application/json',
        'content-length': Buffer.byteLength(body),
        'anthropic-version': '2023-06-01',
        'x-api-key': key,
      },
    });
    req.once('error', reject);
    req.once('response', (res) => {
      res.on('data', (chunk: Buffer) => {
        if (!chunks.length) ttfb = performance.now() - started;
        chunks.push(chunk);
      });
      res.once('error', reject);
      res.once('end', () => {
        const total = performance.now() - started;
        const got = Buffer.concat(chunks).toString();
        if (res.statusCode !== 200 || got !== SSE_BODY)
          reject(
            new Error(
              `${origin} answered ${res.statusCode}, not the stream it was sent:\n${got.slice(0, 500)}`,
            ),
          );
        else resolve({ ttfb, total });
      });
    });
    req.end(body);
  });
}

/**
 * Figure 6: what the model gateway adds to a streamed model call, against the same call straight
 * to the API. Client, gateway and fake API share this process, one keep-alive connection each way;
 * the two paths take turns in rounds, so that whatever the machine does meanwhile meets both alike.
 */
async function gatewayLatency(): Promise<void> {
  const { Gateway } = await dist<typeof GatewayServer>('pipeline/gateway/server.js');
  process.env.BENCH_GATEWAY_KEY = GATEWAY_KEY;
  const api = await startFakeModelApi();
  const options = { retryWindowMs: 10_000, budgetUsd: undefined, prices: {}, socket: false, emit: () => {} };
  const gateway = await Gateway.start(options);
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const lease = async () => {
    const route = { family: 'anthropic' as const, upstream: api.url };
    const request = { harness: 'bench', keyEnvs: ['BENCH_GATEWAY_KEY'], keyConcurrency: 1, route };
    const got = await gateway.lease(request, new AbortController().signal);
    if ('refused' in got) throw new Error(`the gateway refused the lease: ${JSON.stringify(got.refused)}`);
    return got;
  };
  try {
    // Untimed, on a lease of its own: opens both connections and warms every code path.
    const warm = await lease();
    for (let i = 0; i < GATEWAY_WARMUP; i++) {
      await streamedCall(agent, api.url, GATEWAY_KEY);
      await streamedCall(agent, gateway.url, warm.capability);
    }
    warm.release();
    const measured = await lease();
    const sides = { direct: [] as CallTimes[], gateway: [] as CallTimes[] };
    const perRound = GATEWAY_REQUESTS / GATEWAY_ROUNDS;
    const roundAdded: number[] = [];
    for (let round = 0; round < GATEWAY_ROUNDS; round++) {
      const direct = async () => {
        for (let i = 0; i < perRound; i++) sides.direct.push(await streamedCall(agent, api.url, GATEWAY_KEY));
      };
      const through = async () => {
        for (let i = 0; i < perRound; i++)
          sides.gateway.push(await streamedCall(agent, gateway.url, measured.capability));
      };
      for (const step of round % 2 ? [through, direct] : [direct, through]) await step();
      const last = (xs: CallTimes[]) => median(xs.slice(-perRound).map((x) => x.total));
      roundAdded.push(last(sides.gateway) - last(sides.direct));
    }
    // The figure is of real work only if the gateway measured every call, and all it was served.
    const usage = measured.usage();
    const n = GATEWAY_REQUESTS;
    const counted = {
      requests: [usage.requests, n],
      retries: [usage.retries, 0],
      faults: [usage.faults, 0],
      inputTokens: [usage.inputTokens, n * SERVED.input],
      outputTokens: [usage.outputTokens, n * SERVED.output],
      cacheReadTokens: [usage.cacheReadTokens, n * SERVED.cacheRead],
      cacheWriteTokens: [usage.cacheWriteTokens, n * SERVED.cacheWrite],
      'upstream answers': [api.served(), 2 * (GATEWAY_WARMUP + n)],
    };
    const wrong = Object.entries(counted)
      .filter(([, [got, want]]) => got !== want)
      .map(([what, [got, want]]) => `${what} ${got}, not ${want}`);
    if (measured.fault) wrong.push(`fault ${JSON.stringify(measured.fault)}`);
    if (usage.costUsd === null) wrong.push(`no cost (unpriced: ${usage.unpriced.join(', ')})`);
    if (wrong.length || usage.costUsd === null)
      throw new Error(`the gateway did not measure the calls it passed: ${wrong.join('; ')}`);
    measured.release();
    const tokens = usage.inputTokens + usage.outputTokens + usage.cacheReadTokens + usage.cacheWriteTokens;
    const cost = `$${usage.costUsd.toFixed(2)} at ${SSE_MODEL} prices`;
    console.log(`(the gateway counted ${usage.requests} calls, ${tokens} tokens, ${cost})`);
    const of = (side: keyof typeof sides, key: keyof CallTimes) => sides[side].map((x) => x[key]);
    const at = (side: keyof typeof sides, stat: (xs: number[]) => number) => ({
      ttfb: stat(of(side, 'ttfb')),
      total: stat(of(side, 'total')),
    });
    const [direct, through] = [at('direct', median), at('gateway', median)];
    const [direct90, through90] = [at('direct', p90), at('gateway', p90)];
    const ms = (x: number) => msec(x, 2);
    for (const [side, mid, high] of [
      ['direct', direct, direct90],
      ['gateway', through, through90],
    ] as const)
      console.log(
        `(${side}: first byte median ${ms(mid.ttfb)}, p90 ${ms(high.ttfb)}; ` +
          `whole answer median ${ms(mid.total)}, p90 ${ms(high.total)})`,
      );
    const [addedTtfb, addedTotal] = [through.ttfb - direct.ttfb, through.total - direct.total];
    const [ttfb90, total90] = [through90.ttfb - direct90.ttfb, through90.total - direct90.total];
    console.log(`(added at p90: first byte ${ms(ttfb90)}, whole answer ${ms(total90)})`);
    console.log(`(added per call, median of each round of ${perRound}: ${roundAdded.map(ms).join(', ')})`);
    const figure = (what: string) => `gateway added ${what} (${n} streamed calls, median)`;
    const ratio = [addedTotal / direct.total, addedTtfb / direct.ttfb] as const;
    const base = (x: number) => `direct ${ms(x)}`;
    report(figure('latency'), ms(addedTotal), base(direct.total), ratio[0], '< 2 ms', addedTotal < 2);
    report(figure('time to first byte'), ms(addedTtfb), base(direct.ttfb), ratio[1], '< 2 ms', addedTtfb < 2);
  } finally {
    agent.destroy();
    await gateway.close();
    await api.close();
    delete process.env.BENCH_GATEWAY_KEY;
  }
}

/**
 * Figure 8: what one `--more` claim of the next free index costs (in this process, from dist),
 * beside a benchmark a hundred times smaller: after the first claim of an invocation, which lists
 * eval-attempts/, a claim passes over the taken indices without listing it again. The way claims were made before (eval-attempts/ and every marker
 * read on each claim) is timed too, for scale.
 */
async function moreClaims(): Promise<void> {
  const { AttemptLifecycle, NextIndex } = await dist<typeof Lifecycle>('pipeline/attempt-lifecycle.js');
  const { attemptDirs, attemptName, highestIndex } = await dist<typeof Attempts>('pipeline/attempts.js');
  const { claimMarker, ownMarker, readMarkers, releaseMarker } =
    await dist<typeof Markers>('pipeline/markers.js');
  const { statePaths } = await dist<typeof State>('pipeline/state.js');
  const { Redactor } = await dist<typeof Redact>('pipeline/redact.js');
  const redactor = new Redactor([]);
  const ref = (n: number) => ({
    benchmark: 'claims',
    name: attemptName('m', n),
    modelId: 'm',
    n,
    harness: 't',
    model: undefined,
    variant: undefined,
  });
  const perClaim: Record<string, { now: number; before: number }> = {};
  for (const size of CLAIM_SIZES) {
    const dir = join(scratch, `claims-${size}`);
    const paths = statePaths(dir);
    for (let n = 1; n <= size; n++) mkdirSync(join(paths.attempts, attemptName('m', n)), { recursive: true });
    const now = async () => {
      const next = new NextIndex(paths.attempts);
      // The first claim lists eval-attempts/, once an invocation (as plan has just done).
      const held = [await AttemptLifecycle.claimNext(paths, 'bench', 'm', ref, next, redactor)];
      const t = performance.now();
      for (let i = 0; i < CLAIMS; i++)
        held.push(await AttemptLifecycle.claimNext(paths, 'bench', 'm', ref, next, redactor));
      const ms = performance.now() - t;
      for (const h of held) await h.abandon();
      return ms / CLAIMS;
    };
    const before = async () => {
      const held: string[] = [];
      const t = performance.now();
      for (let i = 0; i < CLAIMS; i++) {
        const complete = (await attemptDirs(paths.attempts)).get('m') ?? new Set<number>();
        const claimed = new Set((await readMarkers(paths)).map((m) => m.attempt));
        for (let n = highestIndex(complete) + 1; ; n++) {
          const name = attemptName('m', n);
          if (claimed.has(name) || complete.has(n)) continue;
          if ((await claimMarker(paths, await ownMarker('bench', name))) === true) {
            held.push(name);
            break;
          }
        }
      }
      const ms = performance.now() - t;
      for (const name of held) await releaseMarker(paths, name);
      return ms / CLAIMS;
    };
    await now(); // warm-up
    perClaim[size] = { now: await medianOf(now), before: await medianOf(before) };
    rmSync(dir, { recursive: true, force: true });
  }
  const [small, large] = CLAIM_SIZES.map((n) => perClaim[n]!);
  const count = (n: number) => n.toLocaleString('en');
  const ratio = large!.now / small!.now;
  report(
    `claim at ${count(CLAIM_SIZES[1])} attempts`,
    msec(large!.now, 2),
    `at ${count(CLAIM_SIZES[0])}: ${msec(small!.now, 2)}`,
    ratio,
    '<= 1.5x (the same)',
    ratio <= 1.5,
  );
  report(
    `claim at ${count(CLAIM_SIZES[1])}, before: listing each time`,
    msec(large!.before, 2),
    `now ${msec(large!.now, 2)}`,
    large!.before / large!.now,
    'for scale',
    true,
  );
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
    const skipped = error instanceof Skipped;
    if (!skipped) process.exitCode = 1;
    const why = error instanceof Error ? error.message : String(error);
    console.log(`${skipped ? 'skipped' : 'could not measure'}: ${why}`);
    const blank = { baseline: '-', ratio: '-', goal: '-' };
    rows.push({ figure: name, value: skipped ? 'skipped' : 'error', ...blank, verdict: 'not measured' });
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
  const edit = JSON.stringify(EDIT_HARNESS);
  const config =
    `export default { harnesses: { t: { command: ${command}, versionCommand: ${version} }, ` +
    `edit: { command: ${edit}, versionCommand: ${version} } } };\n`;
  writeFileSync(join(project, 'bench.config.mjs'), config);
  console.log(`bench-pipeline bench: node ${process.version}, median of ${REPS} runs, scratch ${root}`);
  const startup = await medianOf(async () => ok(await timed([NODE, '-e', '0']), 'node -e 0').ms);
  await section('1. plan and a no-op run over 1,000 and 10,000 complete attempts', () =>
    planOverCompleteAttempts(startup),
  );
  await section(`2. engine overhead per attempt (lite mode, ${FRESH_ATTEMPTS} attempts, concurrency 1)`, () =>
    overheadPerAttempt(startup),
  );
  await section(`3. seeding a ${SEED_FILES}-file, 100 MB baseline into ${SEED_COPIES} workspaces`, seeding);
  await section(
    `4. docker mode overhead per attempt (${DOCKER_ATTEMPTS} attempts, concurrency 1)`,
    dockerOverhead,
  );
  await section('5. registry requests of a repeated docker-mode batch', noSecondPull);
  const calls = GATEWAY_REQUESTS.toLocaleString('en');
  await section(
    `6. model gateway: ${calls} streamed requests, direct vs through the gateway`,
    gatewayLatency,
  );
  await section(
    `7. ${BROWN_ATTEMPTS} brownfield attempts (${SEED_FILES} files, 100 MB), seed to published attempt`,
    brownfieldAttempts,
  );
  await section(`8. --more: one claim of the next free index, ${CLAIMS} claims`, moreClaims);
  printTable();
} finally {
  if (images.length) await timed(['docker', 'image', 'rm', '-f', ...images]);
  rmSync(root, { recursive: true, force: true });
}
