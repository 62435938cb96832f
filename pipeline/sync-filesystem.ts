import { execFile } from 'node:child_process';
import { syncTree } from './fs-atomic.js';

/**
 * Makes all that was written under `root` durable, data and names, before a rename publishes it.
 *
 * Linux: one syncfs(2) of the filesystem that holds `root`, through `sync -f` (Node has no
 * binding for it). That writes back every dirty file of the filesystem and commits its journal
 * once, with one cache flush of the device; an fsync of each file and directory instead (a tree
 * of 5,000 files) commits and flushes up to once per file, which costs more than the data. The
 * writeback takes in other writers' dirty data on that filesystem too, which is written sooner
 * than it would have been, never wrongly. Since Linux 5.8 syncfs reports a writeback error of the
 * filesystem as fsync does of a file.
 *
 * Less would not do: an fsync of the directories makes the names durable but not the data in the
 * files they name, and an fsync of one file commits the journal (ext4) without the data of the
 * others, which delayed allocation has not even placed yet: after a power loss the published
 * attempt could hold empty or zeroed files.
 *
 * Elsewhere, or where `sync -f` is missing or fails (an old busybox; or a real write error, which
 * the fsyncs then report again): an fsync of every file and directory under `root` (syncTree).
 */
export async function syncFilesystem(root: string): Promise<void> {
  if (process.platform === 'linux' && (await syncfs(root))) return;
  await syncTree(root);
}

/** `sync -f root`; whether it succeeded. */
function syncfs(root: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('sync', ['-f', root], (error) => resolve(!error));
  });
}
