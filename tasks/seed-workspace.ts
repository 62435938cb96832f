import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { copyEntries, type TreeEntry } from '../pipeline/copy-tree.js';
import { errnoCode } from '../pipeline/errors.js';
import { exists, writeJsonAtomic } from '../pipeline/fs-atomic.js';
import { inventoryKeyParams } from '../pipeline/inventory-hash.js';
import type { StatePaths } from '../pipeline/state.js';
import { uniqueSuffix } from '../pipeline/state.js';
import { readStored } from '../pipeline/stored.js';
import type { TaskDefinition } from '../pipeline/task.js';
import type { Inventory } from '../pipeline/visible-files.js';

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

/** A template's entries.json: what attempts copy from its tree, by relative path. */
export const entriesSchema = z.array(
  z.discriminatedUnion('type', [
    z.strictObject({ type: z.literal('dir'), path: z.string().min(1) }),
    z.strictObject({ type: z.literal('file'), path: z.string().min(1), mode: z.number().int().optional() }),
    z.strictObject({ type: z.literal('symlink'), path: z.string().min(1) }),
  ]),
) satisfies z.ZodType<TreeEntry[]>;

/** The entries of a template, or why they cannot be read (undefined: there is no template). */
async function readEntries(dir: string): Promise<TreeEntry[] | { invalid: string } | undefined> {
  const read = await readStored(join(dir, ENTRIES), entriesSchema);
  if (read.ok) return read.value;
  return read.reason === 'absent' ? undefined : { invalid: read.why };
}

/**
 * A template is complete exactly when its directory exists: it appears by one rename. One whose
 * entries.json is unreadable or of the wrong shape is missing (`warn` is told why): the seed
 * task builds it again in its place.
 */
export async function loadSeed(
  paths: StatePaths,
  key: string,
  warn: (message: string) => void = () => {},
): Promise<SeedOutput | undefined> {
  const dir = seedDir(paths, key);
  const entries = await readEntries(dir);
  if (!entries) return undefined;
  if ('invalid' in entries) {
    warn(`seed template ${entries.invalid}; building it again`);
    return undefined;
  }
  return summarize(join(dir, TREE), entries, undefined);
}

/**
 * Moves aside a template that exists but cannot be read, so a new one can take its name. If what
 * was moved turns out whole (another invocation rebuilt it meanwhile), it is put back.
 */
async function discardInvalid(paths: StatePaths, key: string): Promise<void> {
  const dir = seedDir(paths, key);
  const grave = join(paths.seeds, `.tmp-${uniqueSuffix()}`);
  try {
    await rename(dir, grave);
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return;
    throw error;
  }
  const entries = await readEntries(grave);
  if (Array.isArray(entries)) await rename(grave, dir).catch(() => undefined);
  await rm(grave, { recursive: true, force: true });
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
      if (await exists(seedDir(paths, key))) await discardInvalid(paths, key);
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
