/**
 * What an upstream answer means for an attempt, decided at the wire rather than guessed from a
 * CLI's output: a refused key, a transient fault worth retrying, or an answer to pass on.
 */

/** The key itself is refused (or cannot pay): every attempt on it would fail the same way. */
const REFUSED = new Set([401, 402, 403]);

/** Overload, rate limits, timeouts, gateway errors: a later try usually succeeds. */
const TRANSIENT = new Set([408, 409, 425, 429, 500, 502, 503, 504, 529]);

export type Verdict = 'ok' | 'refused' | 'transient' | 'pass';

export function classifyStatus(status: number): Verdict {
  if (status < 400) return 'ok';
  if (REFUSED.has(status)) return 'refused';
  if (TRANSIENT.has(status) || status >= 500) return 'transient';
  // 400, 404, 413, 422: the CLI's request as it made it; its handling of the answer is the attempt's.
  return 'pass';
}

/** Errors of a connection before any response byte: the request never reached a model. */
export function isTransientNetworkError(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== 'string') return false;
  return (
    /^(ECONNREFUSED|ECONNRESET|ECONNABORTED|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENETDOWN|EAI_AGAIN|ENOTFOUND|UND_ERR_SOCKET)$/.test(
      code,
    ) ||
    code.startsWith('ERR_TLS') ||
    code.startsWith('ERR_SSL') ||
    /CERT|SSL|TLS/.test(code)
  );
}

/**
 * How long the upstream asked us to wait: `retry-after-ms`, `retry-after` in seconds or as an
 * HTTP date. Undefined when it did not say (or said nonsense).
 */
export function retryAfterMs(headers: Record<string, string | string[] | undefined>, now = Date.now()) {
  const first = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const ms = Number(first('retry-after-ms'));
  if (first('retry-after-ms') && Number.isFinite(ms) && ms >= 0) return ms;
  const after = first('retry-after')?.trim();
  if (!after) return undefined;
  if (/^\d+(\.\d+)?$/.test(after)) return Number(after) * 1000;
  const at = Date.parse(after);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** First retry after about half a second, doubling up to half a minute. */
const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 30_000;

/**
 * The wait before retry number `retry` (0-based): the upstream's own ask when it gave one, else
 * exponential backoff with full jitter (so attempts that failed together do not retry together).
 */
export function backoffMs(retry: number, asked: number | undefined, random = Math.random): number {
  if (asked !== undefined) return asked;
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** retry);
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** The error type an API names in its error body (Anthropic `error.type`, OpenAI `error.code`/`type`). */
export function errorTypeOf(body: Buffer): string | undefined {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: { type?: unknown; code?: unknown } };
    const e = parsed?.error;
    const type = typeof e?.code === 'string' && e.code ? e.code : e?.type;
    return typeof type === 'string' && type ? type : undefined;
  } catch {
    return undefined;
  }
}
