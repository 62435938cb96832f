import { mkdir, mkdtemp } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { scrubTree } from '../pipeline/copy-tree.js';
import { atPath } from '../pipeline/errors.js';
import type { Outcome } from '../pipeline/events.js';
import { exists } from '../pipeline/fs-atomic.js';
import { sha256 } from '../pipeline/keys.js';
import { CancelledError, type TaskDefinition, throwIfAborted } from '../pipeline/task.js';
import type { RunHarnessInput, RunHarnessRunInput } from './harness-input.js';
import { HarnessOutput } from './harness-output.js';
import { homeOf, type Ran } from './harness-process.js';
import {
  LINGER_MS,
  lineFeeder,
  type TranscriptReader,
  type TranscriptSummary,
} from './harnesses/transcript.js';
import { runInContainer } from './run-in-container.js';
import { runOnHost } from './run-on-host.js';
import { materializeWorkspace } from './seed-workspace.js';

export interface HarnessRun {
  outcome: Outcome;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  workspace: string;
  argv: string[];
  stderrTail: string;
  logLimitations: string[];
  /** What the CLI's transcript says the attempt did; null for harnesses without one. */
  summary: TranscriptSummary | null;
}

/** Environment values are hashed in the preimage: they may be credentials, and preimages are stored. */
const hashedEnv = (env: Record<string, string> | undefined) =>
  Object.fromEntries(Object.entries(env ?? {}).map(([k, v]) => [k, `sha256:${sha256(v).slice(0, 16)}`]));

export const AGENT_LOG = 'agent-run.log';
/** The CLI's JSON event stream (its stdout), beside agent-run.log. */
export const TRANSCRIPT = 'transcript.jsonl';

/**
 * Runs one harness one-shot in a fresh copy of the seed: cwd = the workspace, stdin closed, its
 * own process group (so a timeout or cancellation kills everything it started), stdout and stderr
 * streamed through the redactor into agent-run.log as they come (see HarnessOutput).
 */
export const runHarness: TaskDefinition<RunHarnessInput, HarnessRun, RunHarnessRunInput> = {
  name: 'run-harness',
  version: 1,
  keyInputs: (i) => ({
    params: {
      /** docker: the pinned image digest; lite: the host runtimes the harness will use instead. */
      environment: i.mode === 'docker' ? { imageDigest: i.imageDigest } : { hostRuntimes: i.hostRuntimes },
      harness: {
        name: i.adapter.name,
        /** A new CLI version may behave differently. */
        cliVersion: i.cliVersion,
        args: i.adapter.config.args ?? [],
        env: hashedEnv(i.adapter.env({ model: i.model, prompt: '', args: [] })),
        /** Run with the invoking user's home instead of one of its own: it may read other state. */
        ...(i.adapter.config.home === false && { home: false }),
      },
      /** The resolved model (null: the vendor default). */
      model: i.model ?? null,
      variant: i.variant
        ? { name: i.variant.name, args: i.variant.config.args ?? [], env: hashedEnv(i.variant.config.env) }
        : null,
      wrapperPrompt: i.wrapperPrompt,
      /** Attempts 1..N are distinct nodes with otherwise equal inputs. */
      n: i.attempt.n,
    },
    upstream: { seed: i.seedKey, pin: i.pinKey },
  }),
  async run(input, ctx) {
    throwIfAborted(ctx.signal);
    const { adapter, attempt } = input;
    await mkdir(input.workspaceRoot, { recursive: true });
    const workspace = await mkdtemp(join(input.workspaceRoot, `${attempt.benchmark}-${attempt.name}-`));
    await atPath(workspace, () => materializeWorkspace(input.seed, workspace));
    await atPath(input.staging, () => mkdir(input.staging, { recursive: true }));
    // stdout, the CLI's event stream, is also read as it comes to see its final event.
    const reader = adapter.transcript?.();
    const finished = new AbortController();
    const events = reader && eventLines(reader);
    events?.once('final', () => {
      setTimeout(() => finished.abort(), LINGER_MS).unref();
    });
    const output = await HarnessOutput.open(
      ctx.redactor,
      { log: join(input.staging, AGENT_LOG), transcript: reader && join(input.staging, TRANSCRIPT) },
      events,
    );
    // A failed write of the output stops the harness as a timeout would; the attempt is then an error.
    const stop = AbortSignal.any([finished.signal, output.failed, ...(input.stop ? [input.stop] : [])]);
    const started = Date.now();
    let ran: Ran;
    try {
      ran = input.container
        ? await runInContainer(input, input.container, workspace, output, ctx, stop)
        : await runOnHost(input, workspace, output, ctx.signal, stop);
    } finally {
      await output.close();
    }
    if (output.failure) throw output.failure;
    if (ctx.signal.aborted) throw new CancelledError();
    // The CLI's own state (sessions, databases) may hold the token, in contents, link targets
    // or names: masked where it lies.
    if (!input.container && adapter.setup && (await exists(homeOf(workspace))))
      await scrubTree(homeOf(workspace), ctx.redactor);

    const ended = Date.now();
    const logLimitations = [...ran.logLimitations];
    if (ran.timedOut)
      logLimitations.push(
        `the harness was killed at the timeout (${input.timeoutMs} ms); the log ends there`,
      );
    const summary = reader?.summary() ?? null;
    // Ended after its final event: the attempt is what that event says, not how the CLI was stopped.
    const lingered = finished.signal.aborted && !ran.timedOut;
    if (lingered)
      logLimitations.push(`the CLI kept running ${LINGER_MS} ms after its final event and was ended`);
    const outcome: Outcome = ran.timedOut
      ? 'timed-out'
      : ran.exitCode === 0 || (lingered && summary?.status === 'success')
        ? 'succeeded'
        : 'failed';
    return {
      outcome,
      exitCode: ran.exitCode,
      signal: ran.signal,
      timedOut: ran.timedOut,
      startedAt: new Date(started).toISOString(),
      endedAt: new Date(ended).toISOString(),
      durationMs: ended - started,
      workspace,
      argv: ran.argv.map((a) => ctx.redactor.redact(a)),
      stderrTail: output.stderrTail,
      logLimitations,
      summary,
    };
  },
};

/** Parses a CLI's event stream into `reader`; emits 'final' once its final event has passed. */
function eventLines(reader: TranscriptReader): Writable {
  const feed = lineFeeder(reader);
  let told = false;
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      feed(chunk);
      if (reader.final && !told) {
        told = true;
        this.emit('final');
      }
      done();
    },
  });
}
