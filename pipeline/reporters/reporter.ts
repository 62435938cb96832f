import type { PipelineEvent } from '../events.js';

/** Renders engine events. The engine never prints; a reporter is the only thing that does. */
export interface Reporter {
  onEvent(event: PipelineEvent): void;
  /** Stops timers and prints anything pending. */
  close(): void;
}

/** Where a reporter writes; every line passes the redactor before it gets here. */
export interface Output {
  write(text: string): void;
}
