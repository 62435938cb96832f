import { constants } from 'node:fs';
import { chmod, copyFile, mkdir, readFile, readlink, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Redactor } from './redact.js';

/** One entry of a directory tree, by path relative to its root (`/` separators). */
export type TreeEntry =
  | { type: 'dir'; path: string }
  | { type: 'file'; path: string; mode?: number; from?: string }
  | { type: 'symlink'; path: string; from?: string };

/** How many copies are in flight at once; the kernel does the copying, so this hides latency. */
const PARALLEL_COPIES = 32;

/** Lists a tree without following symlinks; sockets and other special files are left out. */
export async function listTree(root: string): Promise<TreeEntry[]> {
  const found = await (await import('fast-glob')).default('**', {
    cwd: root,
    dot: true,
    onlyFiles: false,
    followSymbolicLinks: false,
    objectMode: true,
  });
  const entries: TreeEntry[] = [];
  for (const e of found) {
    if (e.dirent.isDirectory()) entries.push({ type: 'dir', path: e.path });
    else if (e.dirent.isFile()) entries.push({ type: 'file', path: e.path });
    else if (e.dirent.isSymbolicLink()) entries.push({ type: 'symlink', path: e.path });
  }
  return entries;
}

export interface CopyOptions {
  /** Source root for entries without their own `from`. */
  from: string;
  to: string;
  /** When given, files holding a secret are rewritten with the secret masked; their paths are returned. */
  redactor?: Redactor;
}

/**
 * Copies entries into `to`: directories first, then files in parallel with copy-on-write clones
 * where the filesystem supports them (FICLONE, falling back to an in-kernel copy), then symlinks
 * as symlinks (never followed, so a link an agent made to a host file copies as a link).
 */
export async function copyEntries(entries: readonly TreeEntry[], options: CopyOptions): Promise<string[]> {
  const { from, to, redactor } = options;
  await mkdir(to, { recursive: true });
  const dirs = entries.filter((e) => e.type === 'dir').map((e) => e.path);
  // Sorted, parents come before children, so each mkdir needs no recursion.
  for (const d of dirs.sort()) await mkdir(join(to, d), { recursive: true });
  const files = entries.filter((e) => e.type === 'file');
  const redacted: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < files.length; i = next++) {
      const f = files[i]!;
      const dest = join(to, f.path);
      // EXCL: every destination is new, and it spares ext4 a truncate journal entry per file.
      await copyFile(
        f.from ?? join(from, f.path),
        dest,
        constants.COPYFILE_FICLONE | constants.COPYFILE_EXCL,
      );
      if (f.mode !== undefined) await chmod(dest, f.mode);
      if (redactor?.active) {
        const data = await readFile(dest);
        if (redactor.contains(data)) {
          await writeFile(dest, redactor.redactBuffer(data));
          redacted.push(f.path);
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_COPIES, files.length) }, worker));
  for (const l of entries) {
    if (l.type === 'symlink') {
      const target = await readlink(l.from ?? join(from, l.path));
      await symlink(redactor ? redactor.redact(target) : target, join(to, l.path));
    }
  }
  return redacted;
}
