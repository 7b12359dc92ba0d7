// The tenant rules on an injected clock: the token bucket (whole batch or nothing, the wait it
// gives, a batch over the burst let through into debt, new limits keeping the level), the names
// ceiling across hours, the names sketch's estimate and its window, and allowed prefixes on bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createTokenBucket } from '../../src/tenants/token-bucket.js';
import { createNameQuota, NAME_WINDOW_MS } from '../../src/tenants/name-quota.js';
import { createNameSketch, SKETCH_WINDOW_MS, SKETCH_WINDOWS } from '../../src/tenants/name-sketch.js';
import { createNamespace } from '../../src/tenants/namespace.js';
import { nameHash } from '../../src/tenants/name-hash.js';
import { FakeClock } from '../helpers/fake-clock.js';

const hashOf = (name: string): number => nameHash(Buffer.from(name));

test('token bucket: a batch takes all its points or none, and is told how long to wait', () => {
  const clock = new FakeClock();
  const bucket = createTokenBucket({ rate: 100, burst: 200 }, clock.now);
  assert.equal(bucket.take(150, clock.now), 0);
  assert.equal(bucket.level(clock.now), 50);
  // 100 more do not fit in 50: nothing is taken, and 50 points at 100/s take 500 ms.
  assert.equal(bucket.take(100, clock.now), 500);
  assert.equal(bucket.level(clock.now), 50, 'a refused batch takes nothing');
  clock.advance(499);
  assert.equal(bucket.take(100, clock.now), 1);
  clock.advance(1);
  assert.equal(bucket.take(100, clock.now), 0);
  // The level never passes the burst however long the key is quiet.
  clock.advance(60_000);
  assert.equal(bucket.level(clock.now), 200);
  // Given back (the destinations refused the batch): up to the burst.
  bucket.take(200, clock.now);
  bucket.giveBack(120, clock.now);
  assert.equal(bucket.level(clock.now), 120);
});

test('token bucket: a batch larger than the burst passes once the bucket is full, and the debt holds the rate', () => {
  const clock = new FakeClock();
  const bucket = createTokenBucket({ rate: 100, burst: 100 }, clock.now);
  bucket.take(30, clock.now);
  // Not full: it waits until the bucket is (30 points, 300 ms), not forever.
  assert.equal(bucket.take(500, clock.now), 300);
  clock.advance(300);
  assert.equal(bucket.take(500, clock.now), 0);
  assert.equal(bucket.level(clock.now), -400);
  // The next small batch waits for the debt: 410 points at 100/s.
  assert.equal(bucket.take(10, clock.now), 4100);
  // Over 10 s of steady 500-point batches, about 100/s pass: the burst is no way around the rate.
  let passed = 0;
  for (let t = 0; t < 10_000; t += 10) {
    if (bucket.take(500, clock.now) === 0) passed += 500;
    clock.advance(10);
  }
  assert.ok(passed <= 100 * 10 + 500, `passed ${passed}`);
});

test('token bucket: new limits take effect at once and keep the points held, up to the new burst', () => {
  const clock = new FakeClock();
  const bucket = createTokenBucket({ rate: 100, burst: 1000 }, clock.now);
  bucket.take(400, clock.now);
  bucket.configure({ rate: 10, burst: 300 }, clock.now);
  assert.equal(bucket.level(clock.now), 300);
  assert.equal(bucket.take(300, clock.now), 0);
  assert.equal(bucket.take(10, clock.now), 1000, '10 points at the new 10/s');
});

test('names ceiling: new names past it are refused, known ones pass, and the previous hour carries over', () => {
  const clock = new FakeClock();
  const quota = createNameQuota(3);
  quota.roll(clock.now);
  for (const n of ['a', 'b', 'c']) assert.equal(quota.admit(hashOf(n)), true, n);
  assert.equal(quota.admit(hashOf('d')), false, 'the fourth name of the hour');
  assert.equal(quota.admit(hashOf('a')), true, 'a known name keeps flowing');
  // The next hour: a flood of new names arrives first, and takes the room of new names only.
  clock.advance(NAME_WINDOW_MS);
  quota.roll(clock.now);
  for (const n of ['x', 'y', 'z']) assert.equal(quota.admit(hashOf(n)), true, n);
  assert.equal(quota.admit(hashOf('w')), false);
  for (const n of ['a', 'b', 'c']) assert.equal(quota.admit(hashOf(n)), true, `${n}, known from the hour before`);
  assert.equal(quota.size(), 6, 'bounded by twice the ceiling');
  // Two hours of silence: nothing is known any more.
  clock.advance(2 * NAME_WINDOW_MS);
  quota.roll(clock.now);
  for (const n of ['d', 'e', 'f']) assert.equal(quota.admit(hashOf(n)), true);
  assert.equal(quota.admit(hashOf('a')), false);
});

test('names sketch: within a few percent of the distinct names, repeats not counted, forgotten after its windows', () => {
  const clock = new FakeClock();
  const sketch = createNameSketch();
  sketch.roll(clock.now);
  assert.equal(sketch.estimate(clock.now), 0);
  for (let i = 0; i < 50; i++) sketch.add(hashOf(`small.${i}`));
  assert.ok(Math.abs(sketch.estimate(clock.now) - 50) <= 3, `small counts nearly exact (linear counting): ${sketch.estimate(clock.now)}`);
  for (let round = 0; round < 3; round++) for (let i = 0; i < 20_000; i++) sketch.add(hashOf(`servers.web${i % 200}.cpu.${i}`));
  const estimate = sketch.estimate(clock.now);
  assert.ok(Math.abs(estimate - 20_050) / 20_050 < 0.15, `estimate ${estimate} of 20050`);
  // Still counted in the later windows of the hour...
  clock.advance((SKETCH_WINDOWS - 1) * SKETCH_WINDOW_MS);
  sketch.roll(clock.now);
  sketch.add(hashOf('late.one'));
  assert.ok(sketch.estimate(clock.now) > 19_000);
  // ... and gone once its window is out of range.
  clock.advance(SKETCH_WINDOW_MS);
  sketch.roll(clock.now);
  assert.equal(sketch.estimate(clock.now), 1);
});

test('allowed prefixes compare the name bytes', () => {
  const ns = createNamespace(['site1.', 'shared.site1.']);
  const line = Buffer.from('xx site1.cpu 1 2\nshared.site1.a 1 2\nsite10.cpu 1 2\nsite1 1 2\n');
  const at = (name: string): boolean => {
    const start = line.indexOf(name);
    return ns.allows(line, start, start + name.length);
  };
  assert.equal(at('site1.cpu'), true);
  assert.equal(at('shared.site1.a'), true);
  assert.equal(at('site10.cpu'), false);
  assert.equal(at('site1 '.trim()), false, 'a name shorter than the prefix');
});
