import type { ModelApiFault } from '../failures.js';

/**
 * The real keys the gateway holds, one per host variable. A harness may name several variables
 * (accounts): its attempts are spread over them, at most `limit` at once on each; a rate-limited
 * key is cooled down while the others go on; a refused key drops out for the rest of the run.
 */
export interface KeySlot {
  /** The host variable (`ANTHROPIC_API_KEY`): what messages name, never the value. */
  name: string;
  value: string | undefined;
  inFlight: number;
  /** Set once the API refused this key: it takes no new attempt. */
  refused: ModelApiFault | undefined;
  /** Until when (ms since epoch) it takes no new attempt: the API asked us to slow down. */
  coolUntil: number;
}

export class KeyPool {
  readonly #slots = new Map<string, KeySlot>();
  #wake: (() => void)[] = [];

  slot(name: string): KeySlot {
    let slot = this.#slots.get(name);
    if (!slot) {
      slot = { name, value: process.env[name], inFlight: 0, refused: undefined, coolUntil: 0 };
      this.#slots.set(name, slot);
    }
    return slot;
  }

  /**
   * Takes a key of `names` for one attempt: the least busy that is neither refused nor cooling
   * nor at `limit`, waiting while all are busy. Resolves to the refusal when every key is refused.
   */
  async acquire(
    names: readonly string[],
    limit: number,
    signal: AbortSignal,
  ): Promise<{ slot: KeySlot } | { refused: ModelApiFault }> {
    for (;;) {
      signal.throwIfAborted();
      const slots = names.map((n) => this.slot(n));
      const usable = slots.filter((s) => !s.refused);
      if (!usable.length) return { refused: slots[slots.length - 1]!.refused! };
      const now = Date.now();
      const free = usable
        .filter((s) => s.coolUntil <= now && s.inFlight < limit)
        .sort((a, b) => a.inFlight - b.inFlight);
      const pick = free[0];
      if (pick) {
        pick.inFlight++;
        return { slot: pick };
      }
      const cooling = usable.filter((s) => s.coolUntil > now).map((s) => s.coolUntil - now);
      await this.#wait(cooling.length ? Math.min(...cooling) : undefined, signal);
    }
  }

  release(slot: KeySlot): void {
    slot.inFlight--;
    this.#notify();
  }

  coolDown(slot: KeySlot, ms: number): void {
    slot.coolUntil = Math.max(slot.coolUntil, Date.now() + ms);
  }

  refuse(slot: KeySlot, fault: ModelApiFault): boolean {
    if (slot.refused) return false;
    slot.refused = fault;
    this.#notify();
    return true;
  }

  /** Whether any of `names` can still take attempts. */
  usable(names: readonly string[]): boolean {
    return names.some((n) => !this.slot(n).refused);
  }

  #notify(): void {
    const waiting = this.#wake;
    this.#wake = [];
    for (const wake of waiting) wake();
  }

  #wait(ms: number | undefined, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = ms === undefined ? undefined : setTimeout(done, ms + 5);
      signal.addEventListener('abort', done, { once: true });
      this.#wake.push(done);
    });
  }
}
