// The gateway's in-flight memory budget (src/gateway/inflight-budget.ts) on its own: what leases
// hold never passes the limit through reserve, waiters are served in arrival order as room comes
// back, a wait that runs out reserves nothing, and a lease released while it waits leaves the line.
// What a request drops stays counted until the garbage collector has freed it. And its flag: a
// budget that could not hold one streaming batch is refused at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createInflightBudget } from '../../src/gateway/inflight-budget.js';
import { backgroundFullCollector } from '../../src/input/scavenge-pacer.js';
import { runToExit } from '../../harness/programs.js';

test('reservations wait in arrival order for released room, a wait that runs out reserves nothing, a released lease keeps nothing', async (t) => {
  // The budget's timers are unref()ed: something must keep this process up while they run.
  const alive = setInterval(() => {}, 1000);
  t.after(() => clearInterval(alive));
  const budget = createInflightBudget(100);
  const a = budget.lease();
  const b = budget.lease();
  const c = budget.lease();
  assert.equal(a.tryReserve(60), true);
  assert.equal(b.tryReserve(50), false, 'over the limit');
  // b waits for 50, then c for 10: c fits now, but must not overtake b.
  const bGranted = b.reserve(50, 5_000);
  assert.equal(c.tryReserve(10), false, 'someone is waiting first');
  const cGranted = c.reserve(10, 5_000);
  assert.equal(budget.waiting(), 2);
  a.shrink(20);
  assert.deepEqual([await bGranted, await cGranted], [true, true]);
  assert.deepEqual([a.held, b.held, c.held, budget.used()], [40, 50, 10, 100]);

  // Full: a wait that runs out reserves nothing and lets the next in line go.
  const started = Date.now();
  const d = budget.lease();
  assert.equal(await d.reserve(1, 200), false);
  assert.ok(Date.now() - started >= 190, `gave up after ${Date.now() - started} ms`);
  assert.equal(d.held, 0);

  // A lease released while its reservation waits leaves the line: nobody waits behind it.
  const e = budget.lease();
  const eGranted = e.reserve(30, 5_000);
  const f = budget.lease();
  const fGranted = f.reserve(1, 5_000);
  assert.equal(budget.waiting(), 2);
  e.release();
  assert.equal(await eGranted, false);
  assert.deepEqual([e.held, budget.used(), budget.waiting()], [0, 100, 1]);
  a.release();
  assert.equal(await fGranted, true);
  assert.deepEqual([f.held, budget.used(), budget.waiting()], [1, 61, 0]);
  f.release();

  // Released twice, or reserving after release: nothing changes.
  b.release();
  b.release();
  assert.equal(await b.reserve(1, 100), false);
  c.add(5);
  c.release();
  assert.deepEqual([b.held, c.held, budget.used()], [0, 0, 0]);
});

test('-max-inflight-bytes below -max-batch-bytes + 1 MiB exits 2 with a message', async () => {
  const tooSmall = await runToExit('gateway', ['-dev-mode', '-console-out', '-max-batch-bytes', '1000000', '-max-inflight-bytes', '2000000']);
  assert.equal(tooSmall.code, 2);
  assert.match(tooSmall.stderr, /-max-inflight-bytes must be at least -max-batch-bytes \+ 1048576 \(2048576\), got 2000000/);
  const bad = await runToExit('gateway', ['-dev-mode', '-console-out', '-max-inflight-bytes', 'lots']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /invalid value "lots" for flag -max-inflight-bytes/);
});

test('what a request retires stays counted until the garbage collector has freed it; a wait for room asks for a collection', async (t) => {
  const alive = setInterval(() => {}, 1000);
  t.after(() => clearInterval(alive));
  const collect = backgroundFullCollector();
  if (!collect) return t.skip('this runtime does not expose its garbage collector');
  let collections = 0;
  const MiB = 1024 * 1024;
  const budget = createInflightBudget(MiB, () => {
    collections++;
    collect();
  });
  const bomb = budget.lease();
  assert.equal(bomb.tryReserve(MiB), true);
  // What a streaming gunzip drops: pieces of their own 256 KiB each, never read again.
  let pieces: Buffer[] | undefined = Array.from({ length: 4 }, () => Buffer.allocUnsafeSlow(256 * 1024));
  bomb.retire(pieces);
  pieces = undefined;
  bomb.release();
  assert.deepEqual([budget.used(), budget.collecting()], [0, MiB], 'released by the request, not yet by the collector');
  const next = budget.lease();
  assert.equal(next.tryReserve(1), false, 'the garbage still takes the room');
  const started = Date.now();
  assert.equal(await next.reserve(MiB, 10_000), true, 'granted once the pieces are collected');
  assert.ok(collections >= 1, 'the wait asked for a collection');
  assert.equal(budget.collecting(), 0);
  process.stdout.write(`# retired 1 MiB: room again after ${Date.now() - started} ms, ${collections} collection(s) asked for\n`);
  next.release();
});
