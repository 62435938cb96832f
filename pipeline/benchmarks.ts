import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ResolvedConfig } from './config.js';
import { errnoCode, UsageError } from './errors.js';
import { exists } from './fs-atomic.js';
import { type Benchmark, loadBenchmark, MANIFEST_FILE } from './manifest.js';

/** The slugs of every benchmark package (a directory with runner.yaml) under benchmarksDir. */
export async function listBenchmarks(config: ResolvedConfig): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await readdir(config.benchmarksDir, { withFileTypes: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return [];
    throw error;
  }
  const slugs: string[] = [];
  for (const e of entries) {
    if (e.isDirectory() && (await exists(join(config.benchmarksDir, e.name, MANIFEST_FILE))))
      slugs.push(e.name);
  }
  return slugs.sort();
}

/**
 * The slugs of the named benchmarks (`x`, `benchmarks/x` or `benchmarks/x/`), or of every one when
 * none is named; an unknown name is a usage error. Nothing is loaded: a broken package still counts.
 */
export async function namedOrAllBenchmarks(
  config: ResolvedConfig,
  named: readonly string[],
): Promise<string[]> {
  const available = await listBenchmarks(config);
  if (!named.length) return available;
  const slugs = named.map((p) => p.replace(/\/+$/, '').split('/').pop() ?? p);
  const unknown = slugs.filter((s) => !available.includes(s));
  if (unknown.length) {
    throw new UsageError(`no benchmark ${unknown.join(', ')}; available: ${available.join(', ') || 'none'}`);
  }
  return slugs;
}

/**
 * Resolves the benchmarks named on the command line. With none named and exactly one present,
 * that one; with several, a usage error that lists them.
 */
export async function selectBenchmarks(
  config: ResolvedConfig,
  named: readonly string[],
): Promise<Benchmark[]> {
  const available = await listBenchmarks(config);
  const shownDir = relative(process.cwd(), config.benchmarksDir) || '.';
  if (named.length === 0) {
    if (available.length === 1) return [await loadBenchmark(join(config.benchmarksDir, available[0]!))];
    if (available.length === 0)
      throw new UsageError(
        `no benchmarks found in ${shownDir}/ (a benchmark is a directory with runner.yaml)`,
      );
    throw new UsageError(`several benchmarks in ${shownDir}/; name one or more: ${available.join(', ')}`);
  }
  const benches: Benchmark[] = [];
  for (const name of new Set(named)) {
    // Accept `benchmarks/x` and `benchmarks/x/` as well as `x`.
    const slug = name.replace(/\/+$/, '').split('/').pop() ?? name;
    if (!available.includes(slug)) {
      throw new UsageError(
        `no benchmark "${name}" in ${shownDir}/; ${available.length ? `available: ${available.join(', ')}` : 'there are none'}`,
      );
    }
    benches.push(await loadBenchmark(join(config.benchmarksDir, slug)));
  }
  return benches;
}
