import type { VariantConfig } from '../pipeline/config.js';
import type { AttemptNetwork, Engine, GatewaySocket } from '../pipeline/docker.js';
import type { AttemptRef } from '../pipeline/events.js';
import type { HarnessAdapter } from './harnesses/adapter.js';
import type { SeedOutput } from './seed-workspace.js';

/** What run-harness takes: its key's inputs, and what a run adds (the seed, the places, the environment). */

export interface RunHarnessInput {
  attempt: AttemptRef;
  seedKey: string;
  pinKey: string;
  mode: 'lite' | 'docker';
  imageDigest: string;
  hostRuntimes: Record<string, string>;
  adapter: HarnessAdapter;
  cliVersion: string;
  model: string | undefined;
  variant: { name: string; config: VariantConfig } | undefined;
  wrapperPrompt: string;
}

export interface RunHarnessRunInput extends RunHarnessInput {
  seed: SeedOutput;
  /** Parent of this attempt's temp workspace, under the OS temp dir. */
  workspaceRoot: string;
  /** Where agent-run.log is streamed to: the attempt's staging directory. */
  staging: string;
  /** lite: the ATTEMPT_ENV value every process of this attempt inherits, to find the ones that escape. */
  attemptTag: string;
  timeoutMs: number;
  /** The harness environment: the host's, minus every known token, plus the harness's own. */
  env: NodeJS.ProcessEnv;
  /** docker mode: the engine and the pinned image to run. */
  container?: ContainerInput;
  /** Stops the harness as a timeout would: the gateway saw a fault that ends the attempt. */
  stop?: AbortSignal;
  /**
   * docker mode: the model gateway this attempt's CLI talks to instead of the model API (with a
   * capability token in its token variable); its socket directory is mounted into the container
   * and the harness's configured baseUrl is not used. Undefined: the CLI talks to its API direct.
   */
  gateway?: GatewaySocket;
  /** runner.yaml `network`: in docker mode, `model` gives the container no network but the gateway. */
  network: AttemptNetwork;
  /** Called once the harness runs, so its process group or container goes into the running marker. */
  onSpawn(
    running: { pid: number; start: string | undefined } | { containerId: string },
    workspace: string,
  ): Promise<void>;
}

/** A harness runtime extracted from its image, mounted read-only into the attempt containers. */
export interface RuntimeMount {
  /** The runtime image by digest (or id), as recorded in run-log. */
  image: string;
  dir: string;
  path: string;
  entrypoint: string;
}

export interface ContainerInput {
  engine: Engine;
  /** By harness name: the harnesses whose CLI comes from a runtime image. */
  runtimes: Map<string, RuntimeMount>;
  /** `repo@sha256:...` or an image id: never a tag, so one run never mixes images. */
  image: string;
  runId: string;
  cpus: number | undefined;
  memoryBytes: number | undefined;
}
