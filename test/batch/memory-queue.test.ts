// The bounded in-memory batch queue (src/batch/memory-queue.ts): bounds in batches and in bytes,
// counting batches taken but not yet acknowledged; block refuses, drop drops and reports.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Batch } from '../../src/batch/batch.js';
import { createMemoryQueue } from '../../src/batch/memory-queue.js';

/** A batch of `points` lines, `bytes` long in all. */
function batchOf(tag: string, points = 1, bytes?: number): Batch {
  const line = `${tag} 1 1700000000\n`;
  let data = Buffer.from(line.repeat(points));
  if (bytes !== undefined) {
    assert.ok(bytes > data.length, `${bytes} bytes cannot hold ${points} lines`);
    data = Buffer.concat([Buffer.from(`${tag}.${'p'.repeat(bytes - data.length - 1)} 1 1700000000\n`), Buffer.from(line.repeat(points - 1))]);
    assert.equal(data.length, bytes);
  }
  return { data, points };
}

const tagOf = (b: Batch | undefined): string => b?.data.toString().split(/[ .]/)[0] ?? 'none';

test('FIFO; take() waits for an offer; depth counts batches, bytes and points held', async () => {
  const q = createMemoryQueue({ maxBatches: 10, maxBytes: 1 << 20, policy: 'block' });
  const waiting = q.take();
  assert.equal(q.offer(batchOf('a', 2)), true);
  assert.equal(q.offer(batchOf('b', 3)), true);
  const first = await waiting;
  assert.equal(tagOf(first?.batch), 'a');
  assert.deepEqual(q.depth(), { batches: 2, bytes: batchOf('a', 2).data.length + batchOf('b', 3).data.length, points: 5 });
  first!.ack();
  first!.ack(); // twice is once
  assert.deepEqual(q.depth().batches, 1);
  assert.equal(tagOf(q.takeNow()?.batch), 'b');
  assert.equal(q.takeNow(), undefined);
  await q.close();
});

test('block: the batch bound counts leased batches until acknowledged; whenReady fires on ack', () => {
  const q = createMemoryQueue({ maxBatches: 2, maxBytes: 1 << 20, policy: 'block' });
  assert.equal(q.offer(batchOf('a')), true);
  assert.equal(q.offer(batchOf('b')), true);
  assert.equal(q.offer(batchOf('c')), false);
  let ready = 0;
  q.whenReady(() => ready++);
  const a = q.takeNow()!;
  assert.equal(q.offer(batchOf('c')), false, 'taken but not acknowledged still counts');
  assert.equal(ready, 0);
  a.ack();
  assert.equal(ready, 1);
  assert.equal(q.offer(batchOf('c')), true);
  assert.deepEqual([tagOf(q.takeNow()?.batch), tagOf(q.takeNow()?.batch)], ['b', 'c']);
});

test('block: the byte bound is hard: a batch up to the bound passes through an empty queue, a bigger one never', () => {
  const q = createMemoryQueue({ maxBatches: 100, maxBytes: 100, policy: 'block' });
  assert.equal(q.offer(batchOf('a', 1, 60)), true);
  assert.equal(q.offer(batchOf('b', 1, 40)), true, 'exactly at the bound');
  assert.equal(q.offer(batchOf('c', 1, 20)), false);
  assert.deepEqual(q.depth(), { batches: 2, bytes: 100, points: 2 });
  q.takeNow()!.ack();
  q.takeNow()!.ack();
  assert.equal(q.offer(batchOf('huge', 1, 101)), false, 'over the bound: refused even by an empty queue');
  assert.equal(q.offer(batchOf('big', 1, 100)), true, 'the whole bound: an empty queue takes it');
  assert.equal(q.offer(batchOf('d', 1, 20)), false);
});

test("block: the points bound (the router's -outgoing-queue-cap), counted like bytes", () => {
  const q = createMemoryQueue({ maxBatches: 100, maxBytes: 1 << 20, maxPoints: 10, policy: 'block' });
  assert.equal(q.offer(batchOf('a', 6)), true);
  assert.equal(q.offer(batchOf('b', 5)), false, '11 points > 10');
  assert.equal(q.offer(batchOf('c', 4)), true, 'exactly at the bound');
  assert.equal(q.reserve(10, 1), undefined, 'reserve() honours the same bound');
  q.takeNow()!.ack();
  const room = q.reserve(batchOf('d', 6).data.length, 6);
  assert.ok(room, '4 + 6 fits');
  assert.deepEqual(q.depth().points, 10, 'a reservation holds its room before commit');
  room.cancel();
  assert.deepEqual(q.depth().points, 4);
  q.takeNow()!.ack();
  assert.equal(q.offer(batchOf('e', 321)), false, 'an empty queue refuses more than 32 times the bound');
  assert.equal(q.offer(batchOf('f', 320)), true, 'and takes up to 32 times the bound');
  assert.equal(q.offer(batchOf('g', 1)), false, 'then nothing until it drains');
});

test('block: whenReady waits until the refused batch may fit, not merely until the queue is below its bounds', () => {
  const q = createMemoryQueue({ maxBatches: 100, maxBytes: 100, policy: 'block' });
  assert.equal(q.offer(batchOf('a', 1, 40)), true);
  assert.equal(q.offer(batchOf('b', 1, 30)), true);
  const big = batchOf('c', 1, 60);
  assert.equal(q.offer(big), false);
  let ready = 0;
  // A producer re-offers on every call: an immediate call would spin (or recurse) forever.
  const retry = (): void => {
    ready++;
    if (!q.offer(big)) q.whenReady(retry);
  };
  q.whenReady(retry);
  assert.equal(ready, 0, 'called back while the refused batch still cannot fit');
  q.takeNow()!.ack(); // 30 + 60 <= 100
  assert.equal(ready, 1);
  assert.deepEqual(q.depth(), { batches: 2, bytes: 90, points: 2 });
});

test('drop: a full queue takes the batch, drops it and reports it; nothing held changes', () => {
  const dropped: string[] = [];
  const q = createMemoryQueue({ maxBatches: 1, maxBytes: 1 << 20, policy: 'drop', onDrop: (b) => dropped.push(tagOf(b)) });
  assert.equal(q.offer(batchOf('a', 5)), true);
  const before = q.depth();
  assert.equal(q.offer(batchOf('b')), true);
  assert.equal(q.offer(batchOf('c')), true);
  assert.deepEqual(dropped, ['b', 'c']);
  assert.deepEqual(q.depth(), before);
  assert.equal(tagOf(q.takeNow()?.batch), 'a');
  const bytes = createMemoryQueue({ maxBatches: 10, maxBytes: 100, policy: 'drop', onDrop: (b) => dropped.push(tagOf(b)) });
  assert.equal(bytes.offer(batchOf('x', 1, 80)), true);
  assert.equal(bytes.offer(batchOf('y', 1, 30)), true);
  assert.deepEqual(dropped, ['b', 'c', 'y']);
});

test('close: waiting takers get undefined, later offers are refused, queued batches can still be taken', async () => {
  const q2 = createMemoryQueue({ maxBatches: 10, maxBytes: 1 << 20, policy: 'block' });
  q2.offer(batchOf('a'));
  const taker = createMemoryQueue({ maxBatches: 10, maxBytes: 1 << 20, policy: 'block' });
  const pending = taker.take();
  await taker.close();
  assert.equal(await pending, undefined);
  await q2.close();
  await q2.close(); // twice is fine
  assert.equal(q2.offer(batchOf('b')), false);
  assert.equal(tagOf((await q2.take())?.batch), 'a');
  assert.equal(await q2.take(), undefined);
});
