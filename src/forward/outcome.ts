// What a gateway's answer (or a failed request) means for the batch: a value, decided by small
// pure functions so every case is a row in a table test.

/**
 * Every outcome but success carries `code`, stable and short, what metrics are labelled by: `HTTP
 * <status>` for an answer, else the error's own code (an errno such as ECONNREFUSED, undici's
 * UND_ERR_*, OpenSSL's certificate codes, ours from src/errors.ts) or its name (AbortError).
 * `reason` is the same in words, for the log.
 */
export type SendOutcome =
  | { readonly kind: 'success' }
  | { readonly kind: 'retryable'; readonly code: string; readonly afterMs?: number; readonly reason: string }
  /** 401: keep the data and retry slowly; a key can be restored. */
  | { readonly kind: 'unauthorized'; readonly code: string; readonly reason: string }
  /** 400/413: the batch itself is bad; it goes to the dead-letter file. */
  | { readonly kind: 'rejected'; readonly code: string; readonly reason: string };

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

export function classifyResponse(status: number, headers: Record<string, string | string[] | undefined>, body: string, now: number = Date.now()): SendOutcome {
  const said = body.trim();
  const code = `HTTP ${status}`;
  const reason = `${code}${said ? `: ${said.slice(0, 200)}` : ''}`;
  if (status >= 200 && status < 300) return { kind: 'success' };
  if (status === 401) return { kind: 'unauthorized', code, reason };
  if (status === 400 || status === 413 || status === 415) return { kind: 'rejected', code, reason };
  const afterMs = parseRetryAfter(header(headers, 'retry-after'), now);
  // Everything else may pass with time: overload (429, 503), gateway errors (5xx), a proxy in
  // between answering 403/404/408 while it is reconfigured. Keeping the data is the safe side.
  return afterMs === undefined ? { kind: 'retryable', code, reason } : { kind: 'retryable', code, afterMs, reason };
}

/**
 * The codes Node gives a TLS connection whose peer certificate did not verify (OpenSSL's X509_V_ERR
 * names, and the host name check): the gateway is reachable but not trusted, a configuration
 * problem (-cert) that an operator must see as such, not as "unreachable".
 */
const CERTIFICATE_ERRORS = new Set([
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_CRL',
  'UNABLE_TO_DECRYPT_CERT_SIGNATURE',
  'UNABLE_TO_DECRYPT_CRL_SIGNATURE',
  'UNABLE_TO_DECODE_ISSUER_PUBLIC_KEY',
  'CERT_SIGNATURE_FAILURE',
  'CRL_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CRL_NOT_YET_VALID',
  'CRL_HAS_EXPIRED',
  'ERROR_IN_CERT_NOT_BEFORE_FIELD',
  'ERROR_IN_CERT_NOT_AFTER_FIELD',
  'ERROR_IN_CRL_LAST_UPDATE_FIELD',
  'ERROR_IN_CRL_NEXT_UPDATE_FIELD',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_CHAIN_TOO_LONG',
  'CERT_REVOKED',
  'INVALID_CA',
  'PATH_LENGTH_EXCEEDED',
  'INVALID_PURPOSE',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A failed request in words: `CODE: message`, and for a certificate that did not verify
 * `CODE: TLS certificate verification failed: message`.
 */
export function describeError(err: unknown): string {
  const message = (err as { message?: string }).message ?? String(err);
  const code = errorCode(err);
  return isCertificateError(err) ? `${code}: TLS certificate verification failed: ${message}` : `${code}: ${message}`;
}

/** The code a failed request is counted by: the error's own, or its name. */
function errorCode(err: unknown): string {
  const e = err as { code?: unknown; name?: string };
  // A DOMException (an abort) has a numeric legacy code; its name says more.
  return typeof e.code === 'string' ? e.code : (e.name ?? 'error');
}

export function isCertificateError(err: unknown): boolean {
  return CERTIFICATE_ERRORS.has(errorCode(err));
}

export function classifyError(err: unknown): SendOutcome {
  return { kind: 'retryable', code: errorCode(err), reason: describeError(err) };
}
