import { readdir } from 'node:fs/promises';
import { errnoCode } from './errors.js';

/** Lower-case; anything outside `[a-z0-9._-]` becomes `-`. */
export function slugPart(text: string): string {
  return text.toLowerCase().replace(/[^a-z0-9._-]/g, '-');
}

/**
 * `slug(harness)-slug(model)[-variant]`: a leading `openrouter/` is dropped from the model and
 * `/` becomes `-`; with no model (vendor default) the model part is `default`.
 */
export function modelId(harness: string, model: string | undefined, variant?: string): string {
  const modelPart = model ? slugPart(model.replace(/^openrouter\//, '').replaceAll('/', '-')) : 'default';
  return `${slugPart(harness)}-${modelPart}${variant ? `-${slugPart(variant)}` : ''}`;
}

export function attemptName(id: string, n: number): string {
  return `${id}-attempt-${n}`;
}

const ATTEMPT_DIR = /^(.+)-attempt-([1-9][0-9]*)$/;

export function parseAttemptName(name: string): { modelId: string; n: number } | undefined {
  const m = ATTEMPT_DIR.exec(name);
  return m ? { modelId: m[1]!, n: Number(m[2]) } : undefined;
}

/**
 * Every `<model-id>-attempt-<n>` directory of a benchmark, by model id: the attempt indices that
 * are taken. Such a directory is a complete attempt only when its run-log.json is valid for its
 * name (see AttemptRecords.get): something planted there by hand or by an agent is not.
 */
export async function attemptDirs(attemptsDir: string): Promise<Map<string, Set<number>>> {
  const byModel = new Map<string, Set<number>>();
  let names: import('node:fs').Dirent[];
  try {
    names = await readdir(attemptsDir, { withFileTypes: true });
  } catch (error) {
    if (errnoCode(error) === 'ENOENT') return byModel;
    throw error;
  }
  for (const d of names) {
    const parsed = d.isDirectory() ? parseAttemptName(d.name) : undefined;
    if (!parsed) continue;
    const set = byModel.get(parsed.modelId) ?? new Set<number>();
    byModel.set(parsed.modelId, set.add(parsed.n));
  }
  return byModel;
}

/** The highest of some attempt indices, 0 for none; a loop, as a spread of many overflows the stack. */
export function highestIndex(ns: Iterable<number>): number {
  let high = 0;
  for (const n of ns) if (n > high) high = n;
  return high;
}

/**
 * The longest model-id whose attempts' names fit the filesystem's 255-byte name limit: 255, less
 * `-attempt-` and an index of up to 7 digits, less the longest suffix the tool puts after an
 * attempt's name (`.json.dead-<pid>-<hex>` of a running marker being cleaned up, 27 bytes), less
 * a margin for a long `--run-id` in the name of a replaced attempt.
 */
export const MAX_MODEL_ID_BYTES = 200;

/** What an attempt is run with: two lines with the same model-id must agree on all of it. */
export function lineIdentity(
  harness: string,
  model: string | undefined,
  variant: string | undefined,
): string {
  return `harness ${harness}, model ${model ?? 'vendor default'}${variant ? `, variant ${variant}` : ''}`;
}
