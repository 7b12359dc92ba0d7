// The delivery policy as tables: what each gateway answer or request error means for a batch
// (outcome.ts), how long a retry waits (backoff.ts), and how the gateway selector combines the
// two (Retry-After as a floor, the -max-retry-delay cap, failover in order).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { backoffDelay } from '../../src/forward/backoff.js';
import { createGatewaySelector } from '../../src/forward/gateway-selector.js';
import { classifyError, classifyResponse, parseRetryAfter, type SendOutcome } from '../../src/forward/outcome.js';
import { TunnelRefusedError } from '../../src/forward/transport.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');

test('classifyResponse: every status class, with and without Retry-After', () => {
  const rows: Array<[number, Record<string, string>, string, SendOutcome]> = [
    [200, {}, 'Batch Received\n', { kind: 'success' }],
    [204, {}, '', { kind: 'success' }],
    [401, {}, 'invalid key', { kind: 'unauthorized', code: 'HTTP 401', reason: 'HTTP 401: invalid key' }],
    // 401 is never dropped, even with a Retry-After.
    [401, { 'retry-after': '5' }, 'invalid key', { kind: 'unauthorized', code: 'HTTP 401', reason: 'HTTP 401: invalid key' }],
    [400, {}, 'Batch Malformed\n', { kind: 'rejected', code: 'HTTP 400', reason: 'HTTP 400: Batch Malformed' }],
    [413, {}, 'Batch Too Large\n', { kind: 'rejected', code: 'HTTP 413', reason: 'HTTP 413: Batch Too Large' }],
    [415, {}, 'unsupported Content-Encoding br\n', { kind: 'rejected', code: 'HTTP 415', reason: 'HTTP 415: unsupported Content-Encoding br' }],
    [429, {}, 'too many invalid keys\n', { kind: 'retryable', code: 'HTTP 429', reason: 'HTTP 429: too many invalid keys' }],
    [429, { 'retry-after': '60' }, '', { kind: 'retryable', code: 'HTTP 429', afterMs: 60_000, reason: 'HTTP 429' }],
    [503, { 'retry-after': '1' }, 'Shutting down\n', { kind: 'retryable', code: 'HTTP 503', afterMs: 1000, reason: 'HTTP 503: Shutting down' }],
    [503, { 'retry-after': 'Thu, 01 Jan 2026 00:00:07 GMT' }, '', { kind: 'retryable', code: 'HTTP 503', afterMs: 7000, reason: 'HTTP 503' }],
    [503, { 'retry-after': 'soon' }, '', { kind: 'retryable', code: 'HTTP 503', reason: 'HTTP 503' }],
    [500, {}, 'Internal Error\n', { kind: 'retryable', code: 'HTTP 500', reason: 'HTTP 500: Internal Error' }],
    [502, {}, '<html>bad gateway</html>', { kind: 'retryable', code: 'HTTP 502', reason: 'HTTP 502: <html>bad gateway</html>' }],
    [504, {}, '', { kind: 'retryable', code: 'HTTP 504', reason: 'HTTP 504' }],
    // A load balancer in between while it is reconfigured: keep the data.
    [403, {}, 'Forbidden', { kind: 'retryable', code: 'HTTP 403', reason: 'HTTP 403: Forbidden' }],
    [404, {}, 'Not Found\n', { kind: 'retryable', code: 'HTTP 404', reason: 'HTTP 404: Not Found' }],
    [408, {}, '', { kind: 'retryable', code: 'HTTP 408', reason: 'HTTP 408' }],
  ];
  for (const [status, headers, body, expected] of rows) {
    assert.deepEqual(classifyResponse(status, headers, body, NOW), expected, `HTTP ${status} ${JSON.stringify(headers)}`);
  }
  // A long body is cut in the reason, so a log line stays one line of bounded size.
  const long = classifyResponse(500, {}, 'x'.repeat(10_000), NOW);
  assert.equal(long.kind === 'retryable' && long.reason.length, 'HTTP 500: '.length + 200);
});

test('classifyError: every request error is retryable, its code taken from the error, never from its message', () => {
  const rows: Array<[unknown, string, string]> = [
    [Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' }), 'ECONNREFUSED', 'ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1'],
    [Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }), 'ECONNRESET', 'ECONNRESET: read ECONNRESET'],
    [Object.assign(new Error('Headers Timeout Error'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT: Headers Timeout Error'],
    [Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' }), 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_CONNECT_TIMEOUT: Connect Timeout Error'],
    [
      Object.assign(new Error('self-signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }),
      'DEPTH_ZERO_SELF_SIGNED_CERT',
      'DEPTH_ZERO_SELF_SIGNED_CERT: TLS certificate verification failed: self-signed certificate',
    ],
    [
      Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }),
      'ERR_TLS_CERT_ALTNAME_INVALID',
      "ERR_TLS_CERT_ALTNAME_INVALID: TLS certificate verification failed: Hostname/IP does not match certificate's altnames",
    ],
    [
      new TunnelRefusedError('forward proxy http://127.0.0.1:3128 refused the tunnel to gw:443: HTTP 403'),
      'POLYMUR_ERR_PROXY_TUNNEL_REFUSED',
      'POLYMUR_ERR_PROXY_TUNNEL_REFUSED: forward proxy http://127.0.0.1:3128 refused the tunnel to gw:443: HTTP 403',
    ],
    [new DOMException('This operation was aborted', 'AbortError'), 'AbortError', 'AbortError: This operation was aborted'],
    // A message that looks like "CODE: text" is not taken for a code.
    [new Error('EFAKE: made up'), 'Error', 'Error: EFAKE: made up'],
    ['a string', 'error', 'error: a string'],
  ];
  for (const [err, code, reason] of rows) assert.deepEqual(classifyError(err), { kind: 'retryable', code, reason });
});

test('parseRetryAfter: delta-seconds, HTTP-dates, garbage', () => {
  const rows: Array<[string | undefined, number | undefined]> = [
    [undefined, undefined],
    ['0', 0],
    ['1', 1000],
    [' 120 ', 120_000],
    ['Thu, 01 Jan 2026 00:00:30 GMT', 30_000],
    // A date in the past means "now", never a negative wait.
    ['Wed, 31 Dec 2025 23:59:00 GMT', 0],
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['', undefined],
  ];
  for (const [value, ms] of rows) assert.equal(parseRetryAfter(value, NOW), ms, `Retry-After ${JSON.stringify(value)}`);
});

test('backoffDelay: exponential ceiling, full jitter, capped', () => {
  // [attempt, base, cap, random, expected]
  const rows: Array<[number, number, number, number, number]> = [
    [1, 100, 30_000, 0.999999, 99],
    [2, 100, 30_000, 0.999999, 199],
    [5, 100, 30_000, 0.5, 800],
    [9, 100, 30_000, 0.999999, 25_599],
    [10, 100, 30_000, 0.999999, 29_999],
    [10_000, 100, 30_000, 0.999999, 29_999],
    [10_000, 100, 1_000, 0.5, 500],
    // Full jitter: the wait may be anything from 0 up to the ceiling.
    [20, 100, 30_000, 0, 0],
    [3, 1000, 60_000, 0.25, 1000],
  ];
  for (const [attempt, baseMs, capMs, r, expected] of rows) {
    assert.equal(backoffDelay(attempt, { baseMs, capMs, random: () => r }), expected, `attempt ${attempt}, base ${baseMs}, cap ${capMs}, random ${r}`);
  }
  // The defaults: 100 ms base, 30 s cap.
  assert.equal(backoffDelay(100, { random: () => 0.999999 }), 29_999);
  for (let attempt = 1; attempt < 64; attempt++) {
    const d = backoffDelay(attempt);
    assert.ok(d >= 0 && d < 30_000 && Number.isInteger(d), `attempt ${attempt}: ${d}`);
  }
});

test('gateway selector: failover in order, Retry-After as a floor, the cap, recovery', () => {
  let now = 0;
  const s = createGatewaySelector(2, { capMs: 1000, random: () => 0.999999, now: () => now });
  assert.equal(s.pick(), 0);
  // The first gateway fails: the second one is ready, so no wait.
  assert.equal(s.failed(0), 0);
  assert.equal(s.pick(), 1);
  // Both failing: wait for the earlier one. Gateway 1 says Retry-After 5 s (above the 1 s cap: the
  // server's word wins), gateway 0 backs off at most 1 s.
  assert.equal(s.failed(1, 5000), 99);
  now = 99;
  assert.equal(s.pick(), 0);
  for (let i = 0; i < 20; i++) s.failed(0);
  assert.equal(s.failed(0), 999, 'capped at -max-retry-delay');
  now += 999;
  assert.equal(s.pick(), 0);
  s.succeeded(0);
  assert.equal(s.pick(), 0);
  now = 5099;
  assert.equal(s.failed(0), 0, 'gateway 1 is ready again after its Retry-After');
  assert.equal(s.pick(), 1);

  const single = createGatewaySelector(1, { capMs: 30_000, random: () => 0, now: () => 0 });
  assert.equal(single.failed(0, 2000), 2000, 'Retry-After is honoured even when the jitter says 0');
});
