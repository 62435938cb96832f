import { join } from 'node:path';
import { copyEntries, listTree, type TreeEntry } from '../pipeline/copy-tree.js';
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
}

export interface Collected {
  files: number;
  /** Workspace files that held a token and were written with it masked. */
  redacted: string[];
  /** `name -> new name` for workspace entries moved aside because the tool's own files use their names. */
  renamed: string[];
}

/**
 * Copies the finished workspace into the attempt's staging directory, on the same filesystem
 * as eval-attempts/ so that publishing is one rename. Symlinks are copied as links, never
 * followed; files that hold a token are masked.
 */
export const collect: TaskDefinition<CollectInput, Collected, CollectRunInput> = {
  name: 'collect',
  version: 1,
  keyInputs: ({ attemptKey }) => ({
    params: { format: RUN_LOG_FORMAT },
    upstream: { attempt: attemptKey },
  }),
  async run({ run, staging }, ctx) {
    throwIfAborted(ctx.signal);
    const renamed = new Map<string, string>();
    const listed = await listTree(run.workspace);
    const taken = new Set(listed.map((e) => e.path.split('/')[0]));
    /** `<name>.workspace`, or `<name>.workspace-2` and so on when the agent wrote that name too. */
    const renamedTo = (name: string) => {
      let to = `${name}.workspace`;
      for (let n = 2; taken.has(to); n++) to = `${name}.workspace-${n}`;
      return to;
    };
    const entries = listed.map((e): TreeEntry => {
      const [first, ...rest] = e.path.split('/');
      if (!first || !RESERVED.includes(first)) return e;
      if (!renamed.has(first)) renamed.set(first, renamedTo(first));
      const path = [renamed.get(first), ...rest].join('/');
      return e.type === 'dir' ? { ...e, path } : { ...e, path, from: join(run.workspace, e.path) };
    });
    const redacted = await copyEntries(entries, { from: run.workspace, to: staging, redactor: ctx.redactor });
    // The kept temp workspace too: masked where it lies.
    for (const path of redacted) {
      const e = entries.find((x) => x.path === path);
      await ctx.redactor.scrubFile(e?.type === 'file' && e.from ? e.from : join(run.workspace, path));
    }
    return {
      files: entries.filter((e) => e.type === 'file').length,
      redacted,
      renamed: [...renamed].map(([from, to]) => `${from} -> ${to}`),
    };
  },
};
