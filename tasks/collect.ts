import { stat } from 'node:fs/promises';
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
import { RUN_LOG_FORMAT } from '../pipeline/run-log.js';
import { type TaskDefinition, throwIfAborted } from '../pipeline/task.js';
import { type Transfer, transferEntries } from '../pipeline/transfer-tree.js';
import { AGENT_LOG, type HarnessRun, TRANSCRIPT } from './run-harness.js';

/**
 * Names the tool writes at the root of an attempt directory. The transcript among them: a rename
 * would put an agent's file of that name in its place without a word.
 */
export const RESERVED = [AGENT_LOG, TRANSCRIPT, 'run-log.md', 'run-log.json'];

/**
 * What collect does with the workspace, when it shares the staging directory's filesystem (across
 * filesystems it is always copied):
 * - `copy`: the workspace stays whole and apart from the attempt (a workspace its user goes on
 *   working in: manual collect);
 * - `link`: it stays whole beside the attempt, each file that is the same in both one file under
 *   two names (hard links), so that keeping it costs no copy; a change made to such a file in
 *   the workspace is a change to the attempt, so the kept workspace is for reading;
 * - `move`: its entries become the attempt's, leaving only what was not collected (a workspace
 *   that is not kept: --clean).
 */
export type WorkspaceTransfer = 'copy' | Transfer;

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
      `a token was masked in workspace names, here and in the kept workspace: ${list(collected.maskedNames)}`,
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

/**
 * Puts the finished workspace into the attempt's staging directory, on the same filesystem as
 * eval-attempts/ so that publishing is one rename: moved or hard-linked there when the workspace
 * shares that filesystem (see WorkspaceTransfer), copied otherwise. Symlinks are taken as links,
 * never followed. A token is masked in file contents, link targets and names, in the attempt and
 * in what stays of the workspace alike; what cannot be collected is named, never dropped silently.
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
    const how = transfer !== 'copy' && (await sameFilesystem(workspace, staging)) ? transfer : 'copy';
    const into = { from: workspace, to: staging, redactor, maxFileSize };
    const copied: Copied & { remaining?: Set<string> } =
      how === 'copy'
        ? await copyEntries(entries, into)
        : await transferEntries(
            listing.entries.map((entry, i) => ({ entry, to: entries[i]!.path })),
            { ...into, how, stays: listing.leftOut.map((l) => l.path) },
          );
    // What stays of the workspace (all of it, but after a move) too, where it lies: the files
    // found holding a token, those too large to collect (never read otherwise), every link
    // target and every name.
    const stays = (path: string) => copied.remaining?.has(path) ?? true;
    const origin = new Map(entries.map((e, i) => [e.path, listing.entries[i]!.path]));
    const files = [...copied.redacted, ...copied.leftOut.map((l) => l.path)].map((p) => origin.get(p)!);
    const tree = {
      entries: listing.entries.filter((e) => stays(e.path)),
      moved: new Map([...moved].filter(([from]) => stays(from))),
      files,
    };
    await scrubInPlace(workspace, tree, redactor);
    return {
      files: entries.filter((e) => e.type === 'file').length - copied.leftOut.length,
      redacted: copied.redacted,
      renamed: [...renamed].map(([from, to]) => `${from} -> ${to}`),
      maskedNames: maskedNames(moved),
      leftOut: [...listing.leftOut, ...copied.leftOut],
    };
  },
};

/** Whether a rename or a hard link can take entries from `a` to `b`. */
async function sameFilesystem(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([stat(a), stat(b)]);
  return x.dev === y.dev;
}
