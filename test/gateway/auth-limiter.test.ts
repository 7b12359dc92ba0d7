// The gateway's failed-authentication limiter (src/gateway/auth-limiter.ts) on a clock moved by
// hand: blocked after maxFailures within the window for what is left of it, free again the moment
// the window ends,
// addresses judged apart, and a table bounded however many addresses fail.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAuthLimiter } from '../../src/gateway/auth-limiter.js';

test('blocked once maxFailures failed within windowMs, until the window that began at the first failure ends', () => {
  let t = 1_000_000;
  const limiter = createAuthLimiter({ maxFailures: 3, windowMs: 60_000, now: () => t });
  const A = '192.0.2.1';
  limiter.failed(A);
  t += 10_000;
  limiter.failed(A);
  assert.equal(limiter.blockedForMs(A), 0, 'two failures of three');
  t += 10_000;
  limiter.failed(A);
  assert.equal(limiter.blockedForMs(A), 40_000, 'the third, 20 s into the window: blocked for the 40 s left of it');
  t += 39_999; // 59,999 ms after the first failure
  assert.equal(limiter.blockedForMs(A), 1, 'still inside the window');
  t += 1;
  assert.equal(limiter.blockedForMs(A), 0, 'the window ended: free again');
  // A failure now starts a new window: one failure is not three.
  limiter.failed(A);
  assert.equal(limiter.blockedForMs(A), 0);
});

test('failures spread wider than the window never block; addresses are judged apart', () => {
  let t = 0;
  const limiter = createAuthLimiter({ maxFailures: 2, windowMs: 1000, now: () => t });
  for (let i = 0; i < 10; i++) {
    limiter.failed('192.0.2.1');
    assert.equal(limiter.blockedForMs('192.0.2.1'), 0, `failure ${i + 1}, each in its own window`);
    t += 1000;
  }
  limiter.failed('192.0.2.2');
  limiter.failed('192.0.2.2');
  assert.equal(limiter.blockedForMs('192.0.2.2'), 1000);
  assert.equal(limiter.blockedForMs('192.0.2.1'), 0, 'one address blocked is not another');
});

test('the table holds at most maxAddresses: the oldest address is forgotten first', () => {
  const t = 0;
  const limiter = createAuthLimiter({ maxFailures: 1, windowMs: 60_000, maxAddresses: 3, now: () => t });
  for (const a of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) limiter.failed(a);
  assert.deepEqual(
    ['10.0.0.1', '10.0.0.2', '10.0.0.3'].map((a) => limiter.blockedForMs(a) > 0),
    [true, true, true],
  );
  limiter.failed('10.0.0.4');
  assert.deepEqual(
    ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'].map((a) => limiter.blockedForMs(a) > 0),
    [false, true, true, true],
  );
});
