import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { copyEntries, type TreeEntry } from '../pipeline/copy-tree.js';
import { errnoCode } from '../pipeline/errors.js';
import { exists, readJsonOrUndefined, writeJsonAtomic } from '../pipeline/fs-atomic.js';
import type { StatePaths } from '../pipeline/state.js';
import { uniqueSuffix } from '../pipeline/state.js';
import type { TaskDefinition } from '../pipeline/task.js';
import { type Inventory, inventoryKeyParams } from '../pipeline/visible-files.js';

export interface SeedInput {
  stateMode: 'greenfield' | 'brownfield';
  /** The hashed visible files (the baseline included, for brownfield). */
  inventory: Inventory;
  paths: StatePaths;
}

export interface SeedOutput {
  /** The template tree every attempt's workspace is copied from. */
  tree: string;
  entries: TreeEntry[];
  files: number;
  bytes: number;
}

const TREE = 'tree';
const ENTRIES = 'entries.json';

export function seedDir(paths: StatePaths, key: string): string {
  return join(paths.seeds, key);
}

/** A template is complete exactly when its directory exists: it appears by one rename. */
export async function loadSeed(paths: StatePaths, key: string): Promise<SeedOutput | undefined> {
  const dir = seedDir(paths, key);
  const entries = await readJsonOrUndefined<TreeEntry[]>(join(dir, ENTRIES));
  if (!entries) return undefined;
  return summarize(join(dir, TREE), entries, undefined);
}

function summarize(tree: string, entries: TreeEntry[], bytes: number | undefined): SeedOutput {
  return { tree, entries, files: entries.filter((e) => e.type === 'file').length, bytes: bytes ?? -1 };
}

/**
 * Builds the content-hashed template of the visible files once per key. While the inputs are
 * unchanged every attempt copies from it, instead of walking the benchmark again.
 */
export const seedWorkspace: TaskDefinition<SeedInput, SeedOutput> = {
  name: 'seed-workspace',
  version: 1,
  keyInputs: ({ stateMode, inventory }) => ({
    params: {
      /** greenfield and brownfield workspaces differ in meaning even with the same files. */
      stateMode,
      /** Every visible path with its mode and content hash; a changed prompt.md changes the key. */
      ...inventoryKeyParams(inventory),
    },
    upstream: {},
  }),
  async run({ inventory, paths }, { key: { key } }) {
    const existing = await loadSeed(paths, key);
    if (existing) return existing;
    const entries: TreeEntry[] = [
      ...inventory.dirs.map((path): TreeEntry => ({ type: 'dir', path })),
      ...inventory.files.map(
        (f): TreeEntry => ({ type: 'file', path: f.path, mode: f.mode, from: f.source }),
      ),
    ];
    const building = join(paths.seeds, `.tmp-${uniqueSuffix()}`);
    // What attempts copy from the template: paths only, the sources stay behind.
    const plain = entries.map((e): TreeEntry => (e.type === 'file' ? { type: 'file', path: e.path } : e));
    try {
      await copyEntries(entries, { from: '/', to: join(building, TREE) });
      await writeJsonAtomic(join(building, ENTRIES), plain);
      await mkdir(paths.seeds, { recursive: true });
      await rename(building, seedDir(paths, key));
    } catch (error) {
      await rm(building, { recursive: true, force: true });
      // Another invocation built the same template first: use theirs.
      const code = errnoCode(error);
      if ((code === 'ENOTEMPTY' || code === 'EEXIST') && (await exists(seedDir(paths, key)))) {
        return (await loadSeed(paths, key))!;
      }
      throw error;
    }
    const bytes = inventory.files.reduce((n, f) => n + f.size, 0);
    return summarize(join(seedDir(paths, key), TREE), plain, bytes);
  },
};

/** Gives one attempt a fresh copy of the template; a mutated workspace is never reused. */
export async function materializeWorkspace(seed: SeedOutput, workspace: string): Promise<void> {
  await copyEntries(seed.entries, { from: seed.tree, to: workspace });
}
