import { randomBytes } from 'node:crypto';
import type { GatewayRoute } from '../../tasks/harnesses/adapter.js';
import type { ModelApiFault } from '../failures.js';
import type { KeySlot } from './keys.js';

/** An attempt's hold on the gateway, and what the gateway measured of its traffic. */

/** Where an attempt's requests go: its harness's API family and upstream (see the adapters). */
export type Route = GatewayRoute;

/** What the gateway measured of one attempt's model traffic. */
export interface GatewayUsage {
  upstream: string;
  keyEnv: string;
  /** Model calls (messages, responses, chat completions), retries included. */
  requests: number;
  /** Of those, upstream tries the gateway repeated after a transient fault. */
  retries: number;
  /** Transient faults seen (healed or not) and unhealed ones. */
  faults: number;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  /** Wall time of model calls, from request to the end of the answer, summed. */
  modelWaitMs: number;
  /** null when some model call had no price (see unpriced). */
  costUsd: number | null;
  /** Where the cost came from: price table entries (with their dates) or the upstream's own figure. */
  costSources: string[];
  /** Models answered without a known price: add them to `prices` in bench.config.ts. */
  unpriced: string[];
  models: string[];
}

export interface LeaseRequest {
  harness: string;
  /** The host variables holding this harness's keys, in order of preference. */
  keyEnvs: readonly string[];
  /** At most this many attempts at once on one key. */
  keyConcurrency: number;
  route: Route;
}

/** An attempt's hold on the gateway: its capability, its key, what it measured, and its fault. */
export interface Lease {
  /** Goes where the CLI expects its API key. */
  readonly capability: string;
  readonly keyEnv: string;
  readonly route: Route;
  /** Aborted when the attempt must stop: its key was refused, a fault was not healed, the budget is spent. */
  readonly stopped: AbortSignal;
  /** The fault that makes the attempt an infrastructure error, if any. */
  readonly fault: ModelApiFault | undefined;
  usage(): GatewayUsage;
  /** Ends the capability (its requests get 401 from then on) and frees the key. */
  release(): void;
}

/** What a capability starts with, so the gateway finds it wherever a client puts its key. */
export const CAPABILITY_PREFIX = 'bpgw-';

/** A lease as the gateway keeps it: what it measured, its fault, and the stop of its attempt. */
export class AttemptLease implements Lease {
  readonly capability = `${CAPABILITY_PREFIX}${randomBytes(24).toString('base64url')}`;
  readonly #stop = new AbortController();
  fault: ModelApiFault | undefined;
  revoked = false;
  readonly measured: GatewayUsage;
  readonly #priced = new Set<string>();

  constructor(
    readonly request: LeaseRequest,
    readonly slot: KeySlot,
    readonly route: Route,
    private readonly onRelease: (lease: AttemptLease) => void,
  ) {
    this.measured = {
      upstream: route.upstream,
      keyEnv: slot.name,
      requests: 0,
      retries: 0,
      faults: 0,
      inputTokens: 0,
      outputTokens: 0,
      cacheReadTokens: 0,
      cacheWriteTokens: 0,
      modelWaitMs: 0,
      costUsd: 0,
      costSources: [],
      unpriced: [],
      models: [],
    };
  }

  get keyEnv(): string {
    return this.slot.name;
  }
  get stopped(): AbortSignal {
    return this.#stop.signal;
  }

  /** The first fault decides; the attempt is stopped at once. */
  fail(kind: ModelApiFault['kind'], status: number | null, errorType: string | undefined): void {
    if (this.fault || this.revoked) return;
    this.fault = {
      kind,
      harness: this.request.harness,
      keyEnv: this.slot.name,
      status,
      errorType: errorType ?? null,
      upstream: this.route.upstream,
      requests: this.measured.requests,
    };
    this.#stop.abort();
  }

  usage(): GatewayUsage {
    return { ...this.measured, costSources: [...this.#priced] };
  }

  addCost(usd: number | undefined, source: string | undefined, model: string | undefined): void {
    if (model && !this.measured.models.includes(model)) this.measured.models.push(model);
    if (usd === undefined) {
      if (model && !this.measured.unpriced.includes(model)) this.measured.unpriced.push(model);
      this.measured.costUsd = null;
      return;
    }
    if (source) this.#priced.add(source);
    if (this.measured.costUsd !== null) this.measured.costUsd += usd;
  }

  release(): void {
    if (this.revoked) return;
    this.revoked = true;
    this.onRelease(this);
  }
}
