// The batcher's thresholds (src/batch/batcher.ts) on an injected clock, feeding a real bounded
// memory queue: size cuts at line boundaries, the timer from the first point, no empty batch,
// refused batches kept in order with backpressure until the queue has room, close() waiting.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as tick } from 'node:timers/promises';
import type { Batch, BatchQueue } from '../../src/batch/batch.js';
import { createBatcher } from '../../src/batch/batcher.js';
import { createMemoryQueue } from '../../src/batch/memory-queue.js';
import { FakeClock } from '../helpers/fake-clock.js';

const lines = (from: number, n: number): Buffer => Buffer.from([...Array(n).keys()].map((i) => `m.${from + i} ${from + i} 1700000000\n`).join(''));

/** A real queue whose offers are recorded, with the clock time of each accepted batch. */
function recordingQueue(clock: FakeClock, opts: { maxBatches?: number } = {}): BatchQueue & { accepted: Array<{ at: number; batch: Batch }> } {
  const q = createMemoryQueue({ maxBatches: opts.maxBatches ?? 1000, maxBytes: 1 << 24, policy: 'block' });
  const accepted: Array<{ at: number; batch: Batch }> = [];
  return {
    ...q,
    accepted,
    offer(batch: Batch): boolean {
      assert.ok(batch.points > 0 && batch.data.length > 0, 'never an empty batch');
      const ok = q.offer(batch);
      if (ok) accepted.push({ at: clock.now, batch });
      return ok;
    },
  };
}

/** The batch's lines are whole, and as many as it says. */
function checkWhole(batch: Batch): string[] {
  const text = batch.data.toString();
  assert.ok(text.endsWith('\n'));
  const ls = text.slice(0, -1).split('\n');
  assert.equal(ls.length, batch.points);
  for (const l of ls) assert.match(l, /^m\.\d+ \d+ 1700000000$/);
  return ls;
}

const idsOf = (batches: Array<{ batch: Batch }>): number[][] => batches.map(({ batch }) => checkWhole(batch).map((l) => Number(l.split(' ')[1])));

test('exactly batch-size points: one batch at once, no timer left behind', () => {
  const clock = new FakeClock();
  const sink = recordingQueue(clock);
  const b = createBatcher({ batchSize: 5, flushIntervalMs: 1000, sink, timers: clock });
  assert.equal(b.add(lines(0, 5), 5), true);
  assert.deepEqual(idsOf(sink.accepted), [[0, 1, 2, 3, 4]]);
  assert.equal(clock.pending(), 0);
  clock.advance(5000);
  assert.equal(sink.accepted.length, 1, 'no empty batch from a stale timer');
});

test('one add() larger than batch-size is cut at line boundaries; the rest waits for the timer', () => {
  const clock = new FakeClock();
  const sink = recordingQueue(clock);
  const b = createBatcher({ batchSize: 3, flushIntervalMs: 1000, sink, timers: clock });
  b.add(lines(0, 8), 8);
  assert.deepEqual(idsOf(sink.accepted), [
    [0, 1, 2],
    [3, 4, 5],
  ]);
  clock.advance(999);
  assert.equal(sink.accepted.length, 2);
  clock.advance(1);
  assert.deepEqual(idsOf(sink.accepted), [
    [0, 1, 2],
    [3, 4, 5],
    [6, 7],
  ]);
  assert.equal(sink.accepted[2]!.at, 1000);
});

test('a batch filled across add() calls is cut inside the add that fills it, at a line boundary', () => {
  const clock = new FakeClock();
  const sink = recordingQueue(clock);
  const b = createBatcher({ batchSize: 4, flushIntervalMs: 1000, sink, timers: clock });
  b.add(lines(0, 3), 3);
  assert.equal(sink.accepted.length, 0);
  b.add(lines(3, 3), 3);
  b.add(lines(6, 3), 3);
  assert.deepEqual(idsOf(sink.accepted), [
    [0, 1, 2, 3],
    [4, 5, 6, 7],
  ]);
  b.flush();
  assert.deepEqual(idsOf(sink.accepted).at(-1), [8]);
});

test('the timer fires flush-interval after the FIRST point of a batch, not the last', () => {
  const clock = new FakeClock();
  const sink = recordingQueue(clock);
  const b = createBatcher({ batchSize: 1000, flushIntervalMs: 1000, sink, timers: clock });
  b.add(lines(0, 1), 1);
  clock.advance(600);
  b.add(lines(1, 1), 1);
  clock.advance(300);
  b.add(lines(2, 1), 1);
  assert.equal(sink.accepted.length, 0);
  clock.advance(100);
  assert.deepEqual(idsOf(sink.accepted), [[0, 1, 2]]);
  assert.equal(sink.accepted[0]!.at, 1000);
  assert.deepEqual(clock.scheduled, [1000], 'one timer per batch, never pushed back');
  // The next batch's clock starts at its own first point.
  clock.advance(5000);
  b.add(lines(3, 1), 1);
  clock.advance(999);
  assert.equal(sink.accepted.length, 1);
  clock.advance(1);
  assert.deepEqual(
    sink.accepted.map((a) => a.at),
    [1000, 7000],
  );
});

test('never an empty batch: flush, close and an empty add() with nothing held offer nothing', async () => {
  const clock = new FakeClock();
  const sink = recordingQueue(clock);
  const b = createBatcher({ batchSize: 10, flushIntervalMs: 1000, sink, timers: clock });
  b.flush();
  assert.equal(b.add(Buffer.alloc(0), 0), true);
  assert.equal(clock.pending(), 0, 'no timer for nothing');
  const unbuffered = createBatcher({ batchSize: 10, flushIntervalMs: 0, sink, timers: clock });
  unbuffered.add(Buffer.alloc(0), 0);
  unbuffered.flush();
  await b.close();
  assert.equal(sink.accepted.length, 0);
  // flushIntervalMs 0: every add is sent as it comes.
  unbuffered.add(lines(0, 2), 2);
  assert.deepEqual(idsOf(sink.accepted), [[0, 1]]);
});

test('refused batches are kept in order, add() says false until the queue has room, then whenReady fires', async () => {
  const clock = new FakeClock();
  const sink = recordingQueue(clock, { maxBatches: 1 });
  const b = createBatcher({ batchSize: 2, flushIntervalMs: 1000, sink, timers: clock });
  assert.equal(b.add(lines(0, 2), 2), true, 'the queue takes the first');
  assert.equal(b.add(lines(2, 2), 2), false, 'refused: stop reading');
  assert.equal(b.add(lines(4, 3), 3), false, 'still kept, still false');
  let ready = 0;
  b.whenReady(() => ready++);
  assert.equal(ready, 0);
  // The remainder (point 6) goes out on its timer behind the refused ones, never ahead of them.
  clock.advance(1000);
  const delivered: number[][] = [];
  const deliverOne = async (): Promise<void> => {
    const lease = await sink.take();
    delivered.push(checkWhole(lease!.batch).map((l) => Number(l.split(' ')[1])));
    lease!.ack();
  };
  await deliverOne();
  assert.equal(ready, 0, 'two batches still wait');
  await deliverOne();
  await deliverOne();
  assert.equal(ready, 1, 'everything handed on: ready');
  await deliverOne();
  assert.deepEqual(delivered, [[0, 1], [2, 3], [4, 5], [6]]);
  assert.equal(b.add(lines(7, 1), 1), true);
  // A listener registered while nothing waits is called at once.
  b.whenReady(() => ready++);
  assert.equal(ready, 2);
});

test('close() flushes and waits until the queue has taken everything', async () => {
  const clock = new FakeClock();
  const sink = recordingQueue(clock, { maxBatches: 1 });
  const b = createBatcher({ batchSize: 2, flushIntervalMs: 1000, sink, timers: clock });
  b.add(lines(0, 2), 2);
  b.add(lines(2, 1), 1);
  let closed = false;
  const closing = b.close().then(() => (closed = true));
  await tick();
  assert.equal(closed, false, 'the last batch is still refused');
  assert.equal(sink.accepted.length, 1);
  const first = await sink.take();
  first!.ack();
  await closing;
  assert.deepEqual(idsOf(sink.accepted), [[0, 1], [2]]);
  const quick = createBatcher({ batchSize: 2, flushIntervalMs: 1000, sink: recordingQueue(clock), timers: clock });
  quick.add(lines(0, 1), 1);
  await quick.close(); // taken at once: resolves without anyone acknowledging
});

test('a queue bounded in bytes: a batch that does not fit yet is kept (no spin), and goes once there is room', async () => {
  const clock = new FakeClock();
  const batchBytes = lines(0, 2).length;
  const q = createMemoryQueue({ maxBatches: 100, maxBytes: 2 * batchBytes + batchBytes / 2, policy: 'block' });
  const b = createBatcher({ batchSize: 2, flushIntervalMs: 1000, sink: q, timers: clock });
  assert.equal(b.add(lines(0, 4), 4), true);
  assert.equal(b.add(lines(4, 2), 2), false, 'below the byte bound, but this batch does not fit');
  assert.deepEqual(q.depth().batches, 2);
  const lease = await q.take();
  lease!.ack();
  assert.deepEqual(q.depth().batches, 2, 'the kept batch went in as soon as it fit');
  let ready = false;
  b.whenReady(() => (ready = true));
  assert.equal(ready, true);
});
