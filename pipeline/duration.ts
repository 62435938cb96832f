/** Parses `90s`, `30m`, `1h30m`, `500ms` or a bare number of seconds into milliseconds. */
export function parseDuration(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return finite(Number(trimmed) * 1000);
  const units: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = re.exec(trimmed); match; match = re.exec(trimmed)) {
    total += Number(match[1]) * (units[match[2] ?? 's'] ?? 0);
    consumed = re.lastIndex;
  }
  return consumed === trimmed.length && consumed > 0 ? finite(total) : undefined;
}

/** 400 digits of seconds is a number, but not a duration. */
const finite = (ms: number) => (Number.isFinite(ms) ? ms : undefined);

/**
 * The longest delay a Node timer holds: 2^31-1 ms, about 24.8 days. A longer one fires at once
 * (with a TimeoutOverflowWarning), so a timeout beyond it would end every attempt on the spot.
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A harness timeout from a duration (`30m`) or a number of seconds (from the config), in whole
 * milliseconds; or why it cannot be one.
 */
export function parseTimeout(value: string | number): { ms: number } | { problem: string } {
  const ms = typeof value === 'number' ? finite(value * 1000) : parseDuration(value);
  if (ms === undefined) return { problem: 'must be a duration such as 90s, 30m or 1h' };
  if (ms < 1) return { problem: 'must be at least 1ms' };
  if (ms > MAX_TIMER_MS)
    return { problem: `must be at most ${formatDuration(MAX_TIMER_MS)} (the longest a timer holds)` };
  return { ms: Math.round(ms) };
}

/** `1m 05s`, `320ms`: durations for people. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h ${String(m % 60).padStart(2, '0')}m`;
}
