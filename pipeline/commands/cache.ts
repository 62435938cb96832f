import { readdir, rm, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { seedWorkspace } from '../../tasks/seed-workspace.js';
import { attemptDirs, attemptName } from '../attempts.js';
import { listBenchmarks } from '../benchmarks.js';
import { loadConfig } from '../config.js';
import { errnoCode, UsageError } from '../errors.js';
import { attemptTaskKeys } from '../graph.js';
import { hashInventory } from '../inventory-hash.js';
import { loadBenchmark } from '../manifest.js';
import { type CorruptMarker, describeCorrupt, isCorrupt, reapDeadMarkers } from '../markers.js';
import { readRunLog } from '../run-log.js';
import { statePaths } from '../state.js';
import { taskKey } from '../task.js';
import { scanVisibleFiles } from '../visible-files.js';
import type { ParsedArgs } from './options.js';

interface CacheEntry {
  benchmark: string;
  kind: 'seed' | 'record';
  task: string;
  key: string;
  path: string;
  bytes: number;
  /** Why it is kept: the current inputs, or a complete attempt that refers to it. */
  inUse: boolean;
}

async function list(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
}

async function duBytes(path: string): Promise<number> {
  const s = await stat(path);
  if (!s.isDirectory()) return s.size;
  let total = 0;
  for (const name of await list(path)) total += await duBytes(join(path, name));
  return total;
}

/** Every seed template and node record of a benchmark, and whether current inputs or attempts use it. */
async function entries(benchDir: string): Promise<CacheEntry[]> {
  const bench = await loadBenchmark(benchDir);
  const paths = statePaths(benchDir);
  const used = new Set<string>();
  const { inventory, diagnostics } = await scanVisibleFiles(bench);
  if (!diagnostics.length) {
    await hashInventory(inventory, paths.statCache, false);
    used.add(taskKey(seedWorkspace, { stateMode: bench.manifest.state_mode, inventory, paths }).key);
  }
  for (const [id, ns] of await attemptDirs(paths.attempts)) {
    for (const n of ns) {
      // An attempt without a readable run-log keeps nothing in use: it is no complete attempt.
      const read = await readRunLog(join(paths.attempts, attemptName(id, n)));
      if (!read.ok) continue;
      for (const k of Object.values(read.value.preimage.upstream)) used.add(k);
      // Its own nodes' records: the harness run's key, its collect's and its publish's.
      for (const k of Object.values(attemptTaskKeys(read.value.key))) used.add(k);
    }
  }
  const out: CacheEntry[] = [];
  for (const key of (await list(paths.seeds)).filter((k) => !k.startsWith('.'))) {
    const path = join(paths.seeds, key);
    out.push({
      benchmark: bench.slug,
      kind: 'seed',
      task: 'seed-workspace',
      key,
      path,
      bytes: await duBytes(path),
      inUse: used.has(key),
    });
  }
  for (const task of await list(paths.nodes)) {
    for (const file of await list(join(paths.nodes, task))) {
      const key = file.replace(/\.json$/, '');
      const path = join(paths.nodes, task, file);
      // resolve-image and pin-digest records are tiny and describe the image; keep them.
      const inUse = used.has(key) || task === 'resolve-image' || task === 'pin-digest';
      out.push({
        benchmark: bench.slug,
        kind: 'record',
        task,
        key,
        path,
        bytes: (await stat(path)).size,
        inUse,
      });
    }
  }
  return out;
}

export async function cacheCommand({ values, positionals }: ParsedArgs<'cache'>): Promise<number> {
  const [action, ...rest] = positionals;
  if (action !== 'ls' && action !== 'prune') throw new UsageError('cache: say ls or prune');
  if (rest.length) throw new UsageError(`cache ${action}: takes no arguments`);
  const config = await loadConfig(values.config);
  const all: CacheEntry[] = [];
  for (const slug of await listBenchmarks(config))
    all.push(...(await entries(join(config.benchmarksDir, slug))));
  if (action === 'prune') {
    const removed = all.filter((e) => !e.inUse);
    for (const e of removed) await rm(e.path, { recursive: true, force: true });
    const corrupt: CorruptMarker[] = [];
    for (const slug of await listBenchmarks(config))
      corrupt.push(
        ...(await reapDeadMarkers(statePaths(join(config.benchmarksDir, slug)))).filter(isCorrupt),
      );
    const bytes = removed.reduce((n, e) => n + e.bytes, 0);
    if (values.json)
      process.stdout.write(
        `${JSON.stringify({ removed, corruptMarkers: corrupt.map((m) => m.path) }, null, 2)}\n`,
      );
    else {
      for (const m of corrupt) process.stdout.write(`removed ${describeCorrupt(m)}\n`);
      process.stdout.write(
        `removed ${removed.length} entries (${(bytes / 1e6).toFixed(1)} MB); kept ${all.length - removed.length}\n`,
      );
    }
    return 0;
  }
  if (values.json) {
    process.stdout.write(`${JSON.stringify({ entries: all }, null, 2)}\n`);
    return 0;
  }
  for (const e of all) {
    const size = e.bytes > 1e6 ? `${(e.bytes / 1e6).toFixed(1)} MB` : `${(e.bytes / 1e3).toFixed(1)} kB`;
    process.stdout.write(
      `${e.benchmark}  ${e.task.padEnd(15)} ${e.key.slice(0, 12)}  ${size.padStart(9)}  ${e.inUse ? 'in use' : 'unused'}  ${relative(process.cwd(), e.path)}\n`,
    );
  }
  if (!all.length) process.stdout.write('cache is empty\n');
  return 0;
}
