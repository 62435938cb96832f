import { randomBytes } from 'node:crypto';
import { mkdir, rm } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import type Docker from 'dockerode';
import {
  attachOutput,
  containerNetwork,
  createContainer,
  dockerError,
  GATEWAY_MOUNT,
  GATEWAY_SOCKET,
  LABELS,
  ownerLabel,
  removeContainer,
  sendWorkspace,
} from '../pipeline/docker.js';
import { processStart } from '../pipeline/markers.js';
import type { TaskContext } from '../pipeline/task.js';
import type { ContainerInput, RunHarnessRunInput } from './harness-input.js';
import type { HarnessOutput } from './harness-output.js';
import { deadline, drain, harnessArgs, type Ran } from './harness-process.js';
import { type HarnessOptions, OPTIONS_ENV, PROMPT_ENV } from './harnesses/adapter.js';

/**
 * Docker mode: one container from the pinned image, running its `run-attempt` entrypoint. Only
 * the workspace reaches it (a bind mount, or tar through the API for a remote engine); the token
 * and the harness env go into its environment and nowhere else. With a gateway, its socket
 * directory is mounted too, and run-attempt points the CLI at it (see HarnessOptions.gateway).
 * It is removed afterwards, also when the attempt is cancelled.
 */
export async function runInContainer(
  input: RunHarnessRunInput,
  c: ContainerInput,
  workspace: string,
  output: HarnessOutput,
  ctx: TaskContext,
  stopped: AbortSignal,
): Promise<Ran> {
  const { attempt, model, adapter, gateway } = input;
  const network = containerNetwork(c.engine, input.network, gateway, adapter.name);
  const cmd = ['--harness', adapter.name, ...(model ? ['--model', model] : [])];
  const { baseUrl } = adapter.config;
  // The gateway holds the upstream: the CLI gets its address, never the configured one.
  const options: HarnessOptions = gateway
    ? {
        args: harnessArgs(input),
        gateway: { socket: `${GATEWAY_MOUNT}/${GATEWAY_SOCKET}`, basePath: gateway.basePath },
      }
    : { baseUrl, args: harnessArgs(input) };
  const env: Record<string, string> = {
    [PROMPT_ENV]: input.wrapperPrompt,
    [OPTIONS_ENV]: JSON.stringify(options),
  };
  for (const [k, v] of Object.entries(input.env)) if (v !== undefined) env[k] = v;
  // Nor the host's base-URL overrides, which would point the CLI past it.
  if (gateway) for (const name of adapter.passEnv) delete env[name];
  const name = `bench-pipeline-${attempt.benchmark}-${attempt.name}-${randomBytes(4).toString('hex')}`
    .replace(/[^a-zA-Z0-9_.-]/g, '-')
    .slice(0, 120);
  const container = await createContainer(c.engine, {
    name,
    image: c.image,
    cmd,
    env,
    labels: {
      [LABELS.tool]: 'attempt',
      [LABELS.runId]: c.runId,
      [LABELS.benchmark]: attempt.benchmark,
      [LABELS.attempt]: attempt.name,
      [LABELS.owner]: ownerLabel(process.pid, await processStart(process.pid)),
    },
    workspace,
    nanoCpus: c.cpus ? Math.round(c.cpus * 1e9) : undefined,
    memoryBytes: c.memoryBytes,
    runtime: c.runtimes.get(adapter.name),
    gateway: gateway?.socketDir,
    network,
  });
  const logLimitations: string[] = [];
  try {
    if (c.engine.remote) await sendWorkspace(container, workspace, 'the container');
    const attached = await attachOutput(c.engine, container, output.stdout, output.stderr);
    const ended = new Promise<void>((resolve) => {
      attached.once('end', resolve);
      attached.once('close', resolve);
    });
    await container.start();
    await input.onSpawn({ containerId: container.id }, workspace);
    const limit = deadline(input.timeoutMs, AbortSignal.any([ctx.signal, stopped]), () => {
      container.kill().catch(() => {});
    });
    // Asked after start: 'not-running' answers at once, with the exit code, if it already ended.
    const waited = container.wait({ condition: 'not-running' });
    const status = (await waited.finally(() => limit.clear())) as { StatusCode: number };
    // demuxStream writes into the output but never ends it: HarnessOutput.close does, after this.
    await drain(ended, logLimitations, () => (attached as unknown as { destroy?: () => void }).destroy?.());
    if (c.engine.remote && !ctx.signal.aborted) await fetchWorkspace(container, workspace);
    const exitCode = limit.timedOut ? null : status.StatusCode;
    const signal = limit.timedOut || ctx.signal.aborted ? 'SIGKILL' : null;
    return { exitCode, signal, timedOut: limit.timedOut, argv: ['run-attempt', ...cmd], logLimitations };
  } finally {
    await removeContainer(c.engine, container.id);
  }
}

/** Remote engine: the finished /workspace comes back as tar and replaces the local copy. */
async function fetchWorkspace(container: Docker.Container, workspace: string): Promise<void> {
  const { x } = await import('tar');
  let archive: NodeJS.ReadableStream;
  try {
    archive = await container.getArchive({ path: '/workspace/.' });
  } catch (error) {
    throw dockerError('could not copy the workspace out of the container', error);
  }
  await rm(workspace, { recursive: true, force: true });
  await mkdir(workspace);
  await pipeline(archive, x({ cwd: workspace, strip: 1 }) as unknown as NodeJS.WritableStream);
}
