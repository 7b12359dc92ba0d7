// What a gateway's answer (or a failed request) means for the batch: a value, decided by small
// pure functions so every case is a row in a table test.

export type SendOutcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'retryable'; readonly afterMs?: number; readonly reason: string }
  /** 401: keep the data and retry slowly; a key can be restored. */
  | { readonly kind: 'unauthorized'; readonly reason: string }
  /** 400/413: the batch itself is bad; it goes to the dead-letter file. */
  | { readonly kind: 'rejected'; readonly reason: string };

/** Retry-After as delta-seconds or an HTTP-date, in milliseconds from `now`. */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form starts with the day's name; Date.parse alone would read "-5" or "1.5" as years.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, date - now);
}

function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name] ?? headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

export function classifyResponse(
  status: number,
  headers: Record<string, string | string[] | undefined>,
  body: string,
  now: number = Date.now(),
): SendOutcome {
  const said = body.trim();
  const reason = `HTTP ${status}${said ? `: ${said.slice(0, 200)}` : ''}`;
  if (status >= 200 && status < 300) return { kind: 'success' };
  if (status === 401) return { kind: 'unauthorized', reason };
  if (status === 400 || status === 413 || status === 415) return { kind: 'rejected', reason };
  const afterMs = parseRetryAfter(header(headers, 'retry-after'), now);
  // Everything else may pass with time: overload (429, 503), gateway errors (5xx), a proxy in
  // between answering 403/404/408 while it is reconfigured. Keeping the data is the safe side.
  return afterMs === undefined ? { kind: 'retryable', reason } : { kind: 'retryable', afterMs, reason };
}

export function classifyError(err: unknown): SendOutcome {
  const e = err as { code?: unknown; message?: string; name?: string };
  // A DOMException (an abort) has a numeric legacy code; its name says more.
  const what = typeof e.code === 'string' ? e.code : (e.name ?? 'error');
  return { kind: 'retryable', reason: `${what}: ${e.message ?? String(err)}` };
}
