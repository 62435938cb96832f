import { join } from 'node:path';
import {
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
import { AGENT_LOG, type HarnessRun } from './run-harness.js';

/** Names the tool writes at the root of an attempt directory. */
export const RESERVED = [AGENT_LOG, 'run-log.md', 'run-log.json'];

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
 * Copies the finished workspace into the attempt's staging directory, on the same filesystem
 * as eval-attempts/ so that publishing is one rename. Symlinks are copied as links, never
 * followed. A token is masked in file contents, link targets and names, in the copy and in the
 * kept temp workspace alike; what cannot be copied is named, never dropped silently.
 */
export const collect: TaskDefinition<CollectInput, Collected, CollectRunInput> = {
  name: 'collect',
  version: 1,
  keyInputs: ({ attemptKey }) => ({
    params: { format: RUN_LOG_FORMAT },
    upstream: { attempt: attemptKey },
  }),
  async run({ run, staging, maxFileSize }, ctx) {
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
    const copied = await copyEntries(entries, { from: workspace, to: staging, redactor, maxFileSize });
    // The kept temp workspace too, where it lies: the files found holding a token, those too
    // large to copy (never read otherwise), every link target and every name.
    const origin = new Map(entries.map((e, i) => [e.path, listing.entries[i]!.path]));
    const files = [...copied.redacted, ...copied.leftOut.map((l) => l.path)].map((p) => origin.get(p)!);
    await scrubInPlace(workspace, { entries: listing.entries, moved, files }, redactor);
    return {
      files: entries.filter((e) => e.type === 'file').length - copied.leftOut.length,
      redacted: copied.redacted,
      renamed: [...renamed].map(([from, to]) => `${from} -> ${to}`),
      maskedNames: maskedNames(moved),
      leftOut: [...listing.leftOut, ...copied.leftOut],
    };
  },
};
