import { mkdir, rename } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { errnoCode, InfraError } from '../pipeline/errors.js';
import { fsyncPath, writeFileRedacted } from '../pipeline/fs-atomic.js';
import { RUN_LOG_FORMAT, type RunLog, renderRunLogMarkdown } from '../pipeline/run-log.js';
import { syncFilesystem } from '../pipeline/sync-filesystem.js';
import type { TaskDefinition } from '../pipeline/task.js';

export interface WriteRunLogInput {
  attemptKey: string;
}

export interface WriteRunLogRunInput extends WriteRunLogInput {
  log: RunLog;
  staging: string;
  /** `eval-attempts/<model-id>-attempt-<n>` */
  target: string;
  /** With --rerun, the attempt being replaced is moved here first (never deleted). */
  replaceInto: string | undefined;
}

export interface Published {
  dir: string;
  /** Where the replaced attempt went, if any. */
  replaced: string | undefined;
}

/**
 * Writes run-log.md and run-log.json into the staging directory, then publishes the attempt by
 * renaming staging to its final name. That rename is the moment the attempt becomes complete:
 * before it nothing is visible in eval-attempts/, after it everything is.
 */
export const writeRunLog: TaskDefinition<WriteRunLogInput, Published, WriteRunLogRunInput> = {
  name: 'write-run-log',
  version: 1,
  keyInputs: ({ attemptKey }) => ({
    params: { format: RUN_LOG_FORMAT },
    upstream: { attempt: attemptKey },
  }),
  async run({ log, staging, target, replaceInto }, { redactor }) {
    // Staging is invisible until the rename, so plain writes do; then all of it is made durable at
    // once (the files collect moved or copied in from the workspace too), before the rename.
    await writeFileRedacted(join(staging, 'run-log.json'), `${JSON.stringify(log, null, 2)}\n`, redactor);
    await writeFileRedacted(join(staging, 'run-log.md'), renderRunLogMarkdown(log), redactor);
    await syncFilesystem(staging);
    const parent = join(target, '..');
    await mkdir(parent, { recursive: true });
    let replaced: string | undefined;
    if (replaceInto) {
      await mkdir(replaceInto, { recursive: true });
      replaced = join(replaceInto, `${basename(target)}.${log.runId}`);
      try {
        await rename(target, replaced);
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw error;
        replaced = undefined;
      }
    }
    try {
      await rename(staging, target);
    } catch (error) {
      const code = errnoCode(error);
      if (code === 'ENOTEMPTY' || code === 'EEXIST') {
        // Running markers rule this out among invocations; something else wrote there.
        const message = `${target} appeared while this attempt ran; this attempt's output is discarded`;
        throw new InfraError(message, { reason: 'conflict', message });
      }
      throw error;
    }
    // Make the rename durable before the attempt is reported complete.
    await fsyncPath(parent);
    return { dir: target, replaced };
  },
};
