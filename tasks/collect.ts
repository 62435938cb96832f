import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Copied,
  copyEntries,
  type LeftOut,
  maskedNames,
  maskedPaths,
  scrubInPlace,
  type TreeEntry,
  walkTree,
} from '../pipeline/copy-tree.js';
import { RUN_LOG_FORMAT, type RunLog } from '../pipeline/run-log.js';
import { type TaskDefinition, throwIfAborted } from '../pipeline/task.js';
import { transferEntries } from '../pipeline/transfer-tree.js';
import { AGENT_LOG, type HarnessRun, TRANSCRIPT } from './run-harness.js';

/**
 * Names the tool writes at the root of an attempt directory. The transcript among them: a rename
 * would put an agent's file of that name in its place without a word.
 */
export const RESERVED = [AGENT_LOG, TRANSCRIPT, 'run-log.md', 'run-log.json'];

/**
 * What collect does with the workspace:
 * - `copy`: the workspace stays whole and apart from the attempt (a workspace its user goes on
 *   working in: manual collect);
 * - `move`: its entries become the attempt's, renamed where both share a filesystem and copied
 *   where not, and the workspace keeps only what was not collected (a harness's workspace: the
 *   attempt is where its files are read; nothing left behind shares a file with it).
 */
export type WorkspaceTransfer = 'copy' | 'move';

export interface CollectInput {
  /** The attempt key (run-harness's key). */
  attemptKey: string;
}

export interface CollectRunInput extends CollectInput {
  /** The harness run; collect needs only its workspace. */
  run: Pick<HarnessRun, 'workspace'>;
  staging: string;
  /** Files larger than this many bytes stay behind, named in run-log (config `collect.maxFileSize`). */
  maxFileSize: number;
  /** See WorkspaceTransfer; `copy` when not given. */
  transfer?: WorkspaceTransfer;
}

export interface Collected {
  files: number;
  /** Workspace files that held a token and were written with it masked. */
  redacted: string[];
  /** `name -> new name` for workspace entries moved aside because the tool's own files use their names. */
  renamed: string[];
  /** Entries whose name held a token, by their masked path: so named in the copy and in the kept workspace. */
  maskedNames: string[];
  /** What the agent left that is not in the copy, each with why. */
  leftOut: LeftOut[];
  /**
   * Whether anything of the workspace is left where it was: all of it after a copy; after a move,
   * only what was not collected, and nothing at all (the directory removed) when that is nothing.
   */
  kept: boolean;
}

/** A path as run-log shows it: quoted when it holds a line break or another control character. */
const shown = (path: string) =>
  /[\p{C}\u2028\u2029]/u.test(path)
    ? JSON.stringify(path).replace(/[\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16)}`)
    : path;

/** What run-log says of a collect: every way the copy differs from the workspace the agent left. */
export function collectedLimitations(collected: Collected): string[] {
  const list = (paths: string[]) => paths.map(shown).join(', ');
  const limitations: string[] = [];
  if (collected.redacted.length)
    limitations.push(`a token was masked in workspace files: ${list(collected.redacted)}`);
  if (collected.maskedNames.length) {
    limitations.push(
      `a token was masked in workspace names, here and in what stays of the workspace: ${list(collected.maskedNames)}`,
    );
  }
  if (collected.renamed.length) {
    limitations.push(
      `workspace entries renamed to make room for the tool's own files: ${collected.renamed.join(', ')}`,
    );
  }
  if (collected.leftOut.length) {
    const each = collected.leftOut.map((l) => `${shown(l.path)} (${l.why})`);
    limitations.push(`workspace entries not collected: ${each.join(', ')}`);
  }
  return limitations;
}

/** What run-log records of a workspace collect moved (see `workspace` in the run-log schema). */
export function movedWorkspace(path: string, collected: Collected, clean: boolean): RunLog['workspace'] {
  if (clean) return { path, kept: false, left: 'removed' };
  return collected.kept ? { path, kept: true, left: 'kept' } : { path, kept: false, left: 'nothing' };
}

/**
 * Puts the finished workspace into the attempt's staging directory, on the same filesystem as
 * eval-attempts/ so that publishing is one rename: copied or moved there (see WorkspaceTransfer).
 * Symlinks are taken as links, never followed. A token is masked in file contents, link targets
 * and names, in the attempt and in what stays of the workspace alike; what cannot be collected is
 * named, never dropped silently.
 */
export const collect: TaskDefinition<CollectInput, Collected, CollectRunInput> = {
  name: 'collect',
  version: 1,
  keyInputs: ({ attemptKey }) => ({
    params: { format: RUN_LOG_FORMAT },
    upstream: { attempt: attemptKey },
  }),
  async run({ run, staging, maxFileSize, transfer = 'copy' }, ctx) {
    throwIfAborted(ctx.signal);
    const { redactor } = ctx;
    const workspace = run.workspace;
    const listing = await walkTree(workspace);
    const moved = maskedPaths(listing.entries, redactor);
    const placed = listing.entries.map((e) => moved.get(e.path) ?? e.path);
    const renamed = new Map<string, string>();
    const taken = new Set(placed.map((p) => p.split('/')[0]));
    /** `<name>.workspace`, or `<name>.workspace-2` and so on when the agent wrote that name too. */
    const renamedTo = (name: string) => {
      let to = `${name}.workspace`;
      for (let n = 2; taken.has(to); n++) to = `${name}.workspace-${n}`;
      return to;
    };
    const entries = listing.entries.map((e, i): TreeEntry => {
      let path = placed[i]!;
      const [first, ...rest] = path.split('/');
      if (first && RESERVED.includes(first)) {
        if (!renamed.has(first)) renamed.set(first, renamedTo(first));
        path = [renamed.get(first), ...rest].join('/');
      }
      if (path === e.path) return e;
      return e.type === 'dir' ? { ...e, path } : { ...e, path, from: join(workspace, e.path) };
    });
    const into = { from: workspace, to: staging, redactor, maxFileSize };
    const copied: Copied & { remaining?: Set<string> } =
      transfer === 'copy'
        ? await copyEntries(entries, into)
        : await transferEntries(
            listing.entries.map((entry, i) => ({ entry, to: entries[i]!.path })),
            { ...into, stays: listing.leftOut.map((l) => l.path) },
          );
    // The token masked in what stays of the workspace (all of it after a copy) too, where it
    // lies: the files found holding one, those too large to collect (never read otherwise), every
    // link target and every name.
    const stays = (path: string) => copied.remaining?.has(path) ?? true;
    const origin = new Map(entries.map((e, i) => [e.path, listing.entries[i]!.path]));
    const files = [...copied.redacted, ...copied.leftOut.map((l) => l.path)].map((p) => origin.get(p)!);
    const tree = {
      entries: listing.entries.filter((e) => stays(e.path)),
      moved: new Map([...moved].filter(([from]) => stays(from))),
      files: files.filter(stays),
    };
    await scrubInPlace(workspace, tree, redactor);
    // All of it moved out: no empty directory is left behind to be taken for a kept workspace.
    const emptied = transfer === 'move' && (await removedIfEmpty(workspace));
    return {
      files: entries.filter((e) => e.type === 'file').length - copied.leftOut.length,
      redacted: copied.redacted,
      renamed: [...renamed].map(([from, to]) => `${from} -> ${to}`),
      maskedNames: maskedNames(moved),
      leftOut: [...listing.leftOut, ...copied.leftOut],
      kept: !emptied,
    };
  },
};

/** Removes `dir` if it is empty (ENOTEMPTY otherwise); whether it did. */
async function removedIfEmpty(dir: string): Promise<boolean> {
  try {
    await rmdir(dir);
    return true;
  } catch {
    return false;
  }
}
