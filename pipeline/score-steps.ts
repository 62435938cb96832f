import { mkdir, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { type Scored, type ScoreRunInput, scoreAttempt, scoreJsonSchema } from '../tasks/score-attempt.js';
import type { Published } from '../tasks/write-run-log.js';
import type { Engine } from './docker.js';
import { InfraError } from './errors.js';
import type { EventSink, NodeRef } from './events.js';
import type { Step } from './executor.js';
import type { ScoreNode } from './graph.js';
import { describeCorrupt, holdMarker, ownMarker, releaseMarker } from './markers.js';
import { newAttemptTag } from './processes.js';
import { readRunLog } from './run-log.js';
import { type AttemptScore, attemptScore } from './score-plan.js';
import { uniqueSuffix } from './state.js';
import { readStored } from './stored.js';

export interface ScoreContext {
  runId: string;
  /** docker: for the checks of docker-mode attempts. */
  engine: Engine | undefined;
  emit: EventSink;
  signal: AbortSignal;
  /** `--judge`: runs the judge harness (see commands/score.ts). */
  judging?: ScoreRunInput['judging'];
}

/** The running marker of an attempt's score: beside the attempts' markers, named apart from them. */
const scoreMarkerName = (attempt: string) => `${attempt}.score`;

/**
 * How a score-attempt node runs: it holds the attempt's score marker while it scores (another
 * invocation scoring the same attempt waits, then finds it done), in a staging directory under
 * .pipeline/staging/ that one rename publishes. Its output lives in eval-results/, not the store.
 * A node of `run --score` knows its attempt once the attempt is published (`upstream`).
 */
export function scoreStep(
  node: ScoreNode,
  sc: ScoreContext,
  upstream: () => unknown,
): Step<Scored | undefined> {
  const b = node.input.scoring;
  return {
    key: () => node.input.score?.key,
    lookup: false,
    stored: false,
    async run(context) {
      const s = node.input.score ?? (await publishedScore(node, upstream));
      if (!s || s.action === 'skip') return undefined;
      const marker = scoreMarkerName(s.name);
      const staging = join(b.paths.staging, `${marker}.${uniqueSuffix()}`);
      const tag = newAttemptTag();
      const ref = { ...nodeRef(node), attempt: s.name };
      // Done meanwhile by another invocation: score.json of today's key is there.
      const done = async () => {
        const read = await readStored(join(s.target, 'score.json'), scoreJsonSchema);
        return read.ok && read.value.key === s.key.key && s.action !== 'merge';
      };
      // What a later invocation needs to clean up after this one, should it die: staging, the tag.
      const mine = { ...(await ownMarker(sc.runId, marker)), staging, attemptTag: tag };
      await mkdir(b.paths.staging, { recursive: true });
      const held = await holdMarker(b.paths, mine, {
        signal: sc.signal,
        handled: done,
        onWait: (owner) => sc.emit({ type: 'score-waiting', node: ref, ownerPid: owner.pid }),
        onCorrupt: (corrupt) =>
          sc.emit({
            type: 'warning',
            message: `${describeCorrupt(corrupt)}: no score is being made; removed`,
          }),
      });
      if (!held) {
        sc.emit({ type: 'attempt-scored', node: ref, result: 'elsewhere', again: undefined });
        return undefined;
      }
      try {
        const scored = await scoreAttempt.run(
          {
            ...s.input,
            benchmark: b.bench.slug,
            benchDir: b.bench.dir,
            attemptDir: s.attemptDir,
            target: s.target,
            staging,
            replaceInto: join(b.results, '.replaced'),
            runId: sc.runId,
            manual: s.manual,
            tag,
            reuse: s.reuse,
            judging: sc.judging,
            container:
              s.input.mode === 'docker' && sc.engine
                ? { engine: sc.engine, image: s.input.imageDigest, runId: sc.runId }
                : undefined,
          },
          context(s.key),
        );
        const again = s.status.state === 'stale' ? s.status.why : undefined;
        sc.emit({ type: 'attempt-scored', node: ref, result: scored, again });
        return scored;
      } finally {
        await rm(staging, { recursive: true, force: true });
        await releaseMarker(b.paths, marker);
      }
    },
  };
}

const nodeRef = (node: ScoreNode): NodeRef => ({ id: node.id, task: node.task, benchmark: node.benchmark });

/**
 * `run --score`: the score of the attempt this node follows, now that it is complete: the one
 * the plan found complete, or the one just published (whose name a `--more` attempt has only now).
 */
async function publishedScore(node: ScoreNode, upstream: () => unknown): Promise<AttemptScore | undefined> {
  const published = node.action === 'skip' ? undefined : (upstream() as Partial<Published>);
  // Skipped: completed by another invocation meanwhile, under the planned name.
  const name = published?.dir ? basename(published.dir) : node.attempt;
  const read = await readRunLog(join(node.input.scoring.paths.attempts, name));
  if (!read.ok) {
    const message = `${name}: no run-log to score: ${read.why}`;
    throw new InfraError(message, { reason: 'io', message });
  }
  return attemptScore(node.input.scoring, name, read.value);
}
