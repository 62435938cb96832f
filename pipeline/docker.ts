import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import type Docker from 'dockerode';
import { InfraError, messageOf } from './errors.js';
import { isProcessAlive } from './markers.js';

/** Where the engine is and how that was decided: both go into every engine error. */
export interface EngineAddress {
  options: Docker.DockerOptions;
  /** `unix:///var/run/docker.sock`, `tcp://host:2376`, ... */
  address: string;
  /** `DOCKER_HOST`, `docker.host in bench.config.ts`, or the default socket. */
  how: string;
  /** Not a local socket: the workspace travels as tar through the API instead of a bind mount. */
  remote: boolean;
}

export const DEFAULT_SOCKET = 'unix:///var/run/docker.sock';

/** Resolves the engine address: config `docker.host`, then DOCKER_HOST, then the default socket. */
export function engineAddress(configured: string | undefined, env = process.env): EngineAddress {
  const [address, how] = configured
    ? [configured, 'docker.host in the config']
    : env.DOCKER_HOST
      ? [env.DOCKER_HOST, 'DOCKER_HOST']
      : [DEFAULT_SOCKET, 'the default socket (DOCKER_HOST is not set)'];
  const url = new URL(address.includes('://') ? address : `unix://${address}`);
  switch (url.protocol) {
    case 'unix:':
      return { options: { socketPath: url.pathname }, address, how, remote: false };
    case 'tcp:':
    case 'http:':
    case 'https:': {
      const tls = url.protocol === 'https:' || (env.DOCKER_TLS_VERIFY ?? '') !== '';
      const certs = env.DOCKER_CERT_PATH;
      const read = (f: string) => (certs ? readFileSync(join(certs, f)) : undefined);
      const options: Docker.DockerOptions = {
        host: url.hostname,
        port: url.port || (tls ? 2376 : 2375),
        protocol: tls ? 'https' : 'http',
        ...(tls && certs && { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') }),
      };
      return { options, address, how, remote: true };
    }
    case 'ssh:':
      return {
        options: {
          protocol: 'ssh',
          host: url.hostname,
          port: url.port || 22,
          ...(url.username && { username: url.username }),
        },
        address,
        how,
        remote: true,
      };
    default:
      throw new InfraError(`unsupported Docker engine address ${address} (from ${how})`, {
        reason: 'docker',
        message: `unsupported address ${address}`,
      });
  }
}

export interface Engine extends EngineAddress {
  docker: Docker;
  /** `Docker 28.2.2 (API 1.50), linux/amd64`: recorded in every docker-mode run-log. */
  version: string;
}

/** How long the engine gets to answer the first request before it counts as unreachable. */
const PING_TIMEOUT_MS = 10_000;

/**
 * Connects and asks the engine its version. An unreachable engine is an infrastructure error that
 * says where it looked and why there; docker mode never falls back to running on the host.
 */
export async function connectEngine(at: EngineAddress): Promise<Engine> {
  const { default: Dockerode } = await import('dockerode');
  const docker = new Dockerode({ ...at.options, timeout: PING_TIMEOUT_MS });
  try {
    const v = await docker.version();
    // The ping's timeout must not cut off long pulls, builds and attempts later on.
    const engine = new Dockerode(at.options);
    return { ...at, docker: engine, version: `Docker ${v.Version} (API ${v.ApiVersion}), ${v.Os}/${v.Arch}` };
  } catch (error) {
    const message =
      `the Docker engine at ${at.address} (from ${at.how}) is unreachable: ${messageOf(error)}. ` +
      'Start the engine or point DOCKER_HOST at one; --mode lite runs harnesses on the host instead, ' +
      'without isolation';
    throw new InfraError(message, { reason: 'docker', message });
  }
}

/** The image's inspect data, or undefined when the engine does not have it. */
export async function inspectImage(
  engine: Engine,
  ref: string,
): Promise<Docker.ImageInspectInfo | undefined> {
  try {
    return await engine.docker.getImage(ref).inspect();
  } catch (error) {
    if ((error as { statusCode?: number }).statusCode === 404) return undefined;
    throw dockerError(`could not inspect image ${ref}`, error);
  }
}

interface ProgressEvent {
  status?: string;
  id?: string;
  progress?: string;
  stream?: string;
  error?: string;
  aux?: { ID?: string };
}

/** Reads an engine progress stream to its end; an `error` entry in it is the failure. */
function followProgress(
  engine: Engine,
  stream: NodeJS.ReadableStream,
  onProgress: (line: string) => void,
): Promise<ProgressEvent[]> {
  return new Promise((resolve, reject) => {
    engine.docker.modem.followProgress(
      stream,
      (error: Error | null, output: ProgressEvent[]) => {
        const failed = output?.find((o) => o.error);
        if (error || failed) reject(new Error(failed?.error ?? messageOf(error)));
        else resolve(output);
      },
      (event: ProgressEvent) => {
        const line =
          event.stream?.trim() || [event.id, event.status, event.progress].filter(Boolean).join(' ');
        if (line) onProgress(line);
      },
    );
  });
}

/** Pulls `ref` (a tag or `repo@sha256:...`), reporting progress; a failure names the ref and the reason. */
export async function pullImage(
  engine: Engine,
  ref: string,
  onProgress: (line: string) => void,
): Promise<void> {
  try {
    await followProgress(engine, await engine.docker.pull(ref), onProgress);
  } catch (error) {
    throw dockerError(`could not pull ${ref}`, error);
  }
}

/**
 * Builds an image from a tar stream of its context and tags it `tag`. Returns the image id.
 */
export async function buildImage(
  engine: Engine,
  context: NodeJS.ReadableStream,
  tag: string,
  labels: Record<string, string>,
  onProgress: (line: string) => void,
  options: { dockerfile?: string; buildargs?: Record<string, string> } = {},
): Promise<string> {
  try {
    const stream = await engine.docker.buildImage(context, {
      t: tag,
      labels,
      rm: true,
      forcerm: true,
      ...options,
    });
    await followProgress(engine, stream, onProgress);
  } catch (error) {
    throw dockerError(`could not build ${tag}`, error);
  }
  const info = await inspectImage(engine, tag);
  if (!info)
    throw dockerError(
      `could not build ${tag}`,
      new Error('the engine has no image by that tag after the build'),
    );
  return info.Id;
}

/** `registry/repo` of a reference, normalized the way RepoDigests spells Docker Hub repositories. */
export function repositoryOf(ref: string): string {
  let repo = ref.split('@')[0]!;
  const slash = repo.lastIndexOf('/');
  const colon = repo.lastIndexOf(':');
  if (colon > slash) repo = repo.slice(0, colon);
  return repo.replace(/^(docker\.io|index\.docker\.io)\//, '').replace(/^library\//, '');
}

/**
 * The immutable reference of an image: `repo@sha256:...` from RepoDigests when it came from (or
 * went to) a registry under this repository, else the image id of a local-only image.
 */
export function immutableRef(info: Docker.ImageInspectInfo, ref: string): string {
  const repo = repositoryOf(ref);
  return info.RepoDigests?.find((d) => repositoryOf(d) === repo) ?? info.Id;
}

/** Labels of every container the tool creates, so that one left by a dead invocation is found. */
export const LABELS = {
  tool: 'dev.bench-pipeline',
  runId: 'dev.bench-pipeline.run-id',
  benchmark: 'dev.bench-pipeline.benchmark',
  attempt: 'dev.bench-pipeline.attempt',
  /** `<host> <pid> <process start>` of the invocation that owns the container. */
  owner: 'dev.bench-pipeline.owner',
} as const;

export function ownerLabel(pid: number, start: string | undefined): string {
  return `${hostname()} ${pid} ${start ?? '-'}`;
}

/** runner.yaml `network`: the engine's default network, or nothing but the model gateway. */
export type AttemptNetwork = 'open' | 'model';

/** The model gateway as a local engine's containers reach it: a unix socket in a host directory. */
export interface GatewaySocket {
  /** The host directory holding the gateway's socket GATEWAY_SOCKET; mounted at GATEWAY_MOUNT. */
  socketDir: string;
  /**
   * What the CLI's base URL carries after the address: '' where it takes an origin (claude-code),
   * '/v1' where it takes the API root (codex, opencode).
   */
  basePath: '' | '/v1';
}

/**
 * Where an attempt container sees the gateway's socket directory. A directory, not the socket
 * itself: a socket the gateway makes again after the mount is still the one the container sees.
 */
export const GATEWAY_MOUNT = '/run/bench-pipeline-gateway';
export const GATEWAY_SOCKET = 'gateway.sock';

/**
 * The network of an attempt container, as HostConfig takes it. `open`: the engine's default.
 * `model`: none, only loopback, so the gateway socket mounted into it is the one way out (a
 * harness that does not go through the gateway could not reach its model; refused). The socket is
 * on this machine: a remote engine cannot mount it (refused; `gateway: false` runs a harness direct).
 */
export function containerNetwork(
  engine: Pick<EngineAddress, 'address' | 'remote'>,
  network: AttemptNetwork,
  gateway: GatewaySocket | undefined,
  harness: string,
): Pick<Docker.HostConfig, 'NetworkMode'> {
  if (gateway && engine.remote) {
    const message =
      `the Docker engine at ${engine.address} is remote: its containers cannot reach the model ` +
      `gateway's socket on this machine, so ${harness} cannot run through the gateway there. Use a ` +
      `local engine, or set \`gateway: false\` on ${harness} in the config to run it direct, with the ` +
      'real token in its container';
    throw new InfraError(message, { reason: 'docker', message });
  }
  if (network === 'open') return {};
  if (!gateway) {
    const message =
      'runner.yaml network: model leaves an attempt container no network but the model gateway, ' +
      `and ${harness} does not go through the gateway (a custom harness, or one with \`gateway: false\`), ` +
      'so it could not reach its model: set network: open, or run it through the gateway';
    throw new InfraError(message, { reason: 'docker', message });
  }
  return { NetworkMode: 'none' };
}

export interface ContainerSpec {
  image: string;
  cmd: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
  name: string;
  /** The attempt's workspace on this machine: bind-mounted, or sent and fetched as tar. */
  workspace: string;
  nanoCpus: number | undefined;
  memoryBytes: number | undefined;
  /** A harness runtime extracted on this machine, mounted read-only; its entrypoint replaces the image's. */
  runtime?: { dir: string; path: string; entrypoint: string };
  /** Replaces the image's ENTRYPOINT: a score check runs `sh -c` whatever the image's is. */
  entrypoint?: string[];
  /** The gateway's socket directory on this machine, mounted read-only at GATEWAY_MOUNT. */
  gateway?: string;
  /** From containerNetwork. */
  network: Pick<Docker.HostConfig, 'NetworkMode'>;
}

export function dockerError(what: string, error: unknown): InfraError {
  if (error instanceof InfraError) return error;
  const e = error as { json?: { message?: string }; reason?: string };
  const message = `${what}: ${e.json?.message ?? messageOf(error)}`;
  return new InfraError(message, { reason: 'docker', message });
}

/** Creates the container of one attempt (not started). Only the workspace reaches it. */
export async function createContainer(engine: Engine, spec: ContainerSpec): Promise<Docker.Container> {
  try {
    return await engine.docker.createContainer({
      name: spec.name,
      Image: spec.image,
      Cmd: spec.cmd,
      ...(spec.runtime && { Entrypoint: [spec.runtime.entrypoint] }),
      ...(spec.entrypoint && { Entrypoint: spec.entrypoint }),
      Env: Object.entries(spec.env).map(([k, v]) => `${k}=${v}`),
      Labels: spec.labels,
      WorkingDir: '/workspace',
      Tty: false,
      OpenStdin: false,
      AttachStdin: false,
      AttachStdout: true,
      AttachStderr: true,
      HostConfig: {
        // The workspace and nothing else (but a read-only harness runtime and the gateway's
        // socket): no Docker socket, no other host path.
        Binds: [
          ...(engine.remote ? [] : [`${spec.workspace}:/workspace`]),
          ...(spec.runtime ? [`${spec.runtime.dir}:${spec.runtime.path}:ro`] : []),
          ...(spec.gateway ? [`${spec.gateway}:${GATEWAY_MOUNT}:ro`] : []),
        ],
        ...spec.network,
        ...(spec.nanoCpus && { NanoCpus: spec.nanoCpus }),
        ...(spec.memoryBytes && { Memory: spec.memoryBytes }),
      },
    });
  } catch (error) {
    throw dockerError(`could not create a container from ${spec.image}`, error);
  }
}

/** Streams the container's stdout and stderr, demultiplexed, into two writables as they come. */
export async function attachOutput(
  engine: Engine,
  container: Docker.Container,
  stdout: Writable,
  stderr: Writable,
): Promise<NodeJS.ReadableStream> {
  const stream = (await container.attach({
    stream: true,
    stdout: true,
    stderr: true,
  })) as NodeJS.ReadableStream;
  engine.docker.modem.demuxStream(stream, stdout, stderr);
  return stream;
}

/** Remote engine: a workspace goes into `what` as a tar stream (there is no bind mount). */
export async function sendWorkspace(
  container: Docker.Container,
  workspace: string,
  what: string,
): Promise<void> {
  const { create } = await import('tar');
  const tar = Readable.from(create({ cwd: workspace, prefix: 'workspace', portable: true }, ['.']));
  try {
    await container.putArchive(tar, { path: '/' });
  } catch (error) {
    throw dockerError(`could not copy the workspace into ${what}`, error);
  }
}

/** Removes a container whatever its state; one that is already gone is fine. */
export async function removeContainer(engine: Engine, id: string): Promise<void> {
  try {
    await engine.docker.getContainer(id).remove({ force: true, v: true });
  } catch (error) {
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== 404 && status !== 409) throw dockerError(`could not remove container ${id}`, error);
  }
}

/**
 * Removes this tool's containers whose invocation (on this host) is gone: a killed run leaves
 * its containers running or stopped. Their attempts never completed, so they are missing again.
 */
export async function reapDeadContainers(engine: Engine): Promise<Docker.ContainerInfo[]> {
  const own = await engine.docker.listContainers({ all: true, filters: { label: [LABELS.tool] } });
  const dead: Docker.ContainerInfo[] = [];
  for (const c of own) {
    const [host, pid, start] = (c.Labels[LABELS.owner] ?? '').split(' ');
    if (host !== hostname() || !pid) continue;
    if (await isProcessAlive(Number(pid), start === '-' ? undefined : start)) continue;
    await removeContainer(engine, c.Id);
    dead.push(c);
  }
  return dead;
}
