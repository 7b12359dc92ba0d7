// The proxy's compressing stage (src/forward/compressing-sink.ts) in front of a real memory queue:
// batches arrive gzipped and in offer order, at most `concurrency` are held, refusals are
// answered by whenReady, and close() waits until everything held is in the queue.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import type { Batch } from '../../src/batch/batch.js';
import { createMemoryQueue } from '../../src/batch/memory-queue.js';
import { createCompressingSink } from '../../src/forward/compressing-sink.js';
import { gzip } from '../../src/forward/gzip.js';
import { Registry } from '../../src/observe/metrics.js';
import { logLines } from '../helpers/log-lines.js';

function batchOf(tag: string, points: number): Batch {
  let text = '';
  for (let i = 0; i < points; i++) text += `${tag}.metric.${i} ${i} 1700000000\n`;
  return { data: Buffer.from(text), points };
}

test('batches reach the queue gzipped, in offer order, with their raw size; joined members read as one stream', async () => {
  const queue = createMemoryQueue({ maxBatches: 100, maxBytes: 1 << 24, policy: 'block' });
  const sink = createCompressingSink({ sink: queue, concurrency: 4, metrics: new Registry(), log: (m) => assert.fail(m) });
  // Sizes that compress in different times, so a later small batch may finish before an earlier big one.
  const sent = [batchOf('a', 20_000), batchOf('b', 1), batchOf('c', 5_000), batchOf('d', 2)];
  for (const b of sent) assert.equal(sink.offer(b), true);
  await sink.close();
  const got: Batch[] = [];
  for (let lease = queue.takeNow(); lease; lease = queue.takeNow()) got.push(lease.batch);
  assert.deepEqual(
    got.map((b) => gunzipSync(b.data).toString()),
    sent.map((b) => b.data.toString()),
  );
  assert.deepEqual(
    got.map((b) => [b.points, b.rawBytes]),
    sent.map((b) => [b.points, b.data.length]),
  );
  assert.ok(got[0]!.data.length * 3 < sent[0]!.data.length, 'the queue holds a fraction of the raw bytes');
  // What the forwarder does when it joins queued batches: the members concatenated are one gzip stream.
  assert.equal(gunzipSync(Buffer.concat(got.map((b) => b.data))).toString(), sent.map((b) => b.data.toString()).join(''));
  await queue.close();
});

test('at most `concurrency` batches held; a full queue holds them here; whenReady once one moves on; nothing lost', async () => {
  const queue = createMemoryQueue({ maxBatches: 1, maxBytes: 1 << 24, policy: 'block' });
  const sink = createCompressingSink({ sink: queue, concurrency: 2, metrics: new Registry(), log: (m) => assert.fail(m) });
  assert.equal(sink.offer(batchOf('a', 10)), true);
  assert.equal(sink.offer(batchOf('b', 10)), true);
  assert.equal(sink.offer(batchOf('c', 10)), false, 'a third batch is refused while two are held');
  let ready = false;
  sink.whenReady(() => (ready = true));
  assert.equal(ready, false);
  // 'a' goes into the queue (room for one batch); 'b' waits here for room.
  const a = await queue.take();
  assert.equal(ready, true, 'ready once a batch moved on to the queue');
  assert.equal(sink.offer(batchOf('c', 10)), true);
  assert.equal(sink.offer(batchOf('d', 10)), false, "'b' and 'c' held while the queue is full");
  const order: string[] = [];
  a!.ack();
  for (let i = 0; i < 2; i++) {
    const lease = await queue.take();
    order.push(gunzipSync(lease!.batch.data).toString().split('.')[0]!);
    lease!.ack();
  }
  assert.deepEqual(order, ['b', 'c']);
  await sink.close();
  assert.equal(sink.offer(batchOf('e', 1)), false, 'closed: refused, kept by the caller');
  let calledAfterClose = false;
  sink.whenReady(() => (calledAfterClose = true));
  assert.equal(calledAfterClose, false, 'a closed sink never invites another offer');
  await queue.close();
});

test('a batch whose gzip fails goes on raw, in its place, counted and logged; the next ones are gzipped', async () => {
  const queue = createMemoryQueue({ maxBatches: 100, maxBytes: 1 << 24, policy: 'block' });
  const metrics = new Registry();
  const logs = logLines();
  let calls = 0;
  const sink = createCompressingSink({
    sink: queue,
    concurrency: 4,
    // The second compression fails, as the native addon would on an allocation failure.
    compress: (data) => (++calls === 2 ? Promise.reject(new Error('out of memory')) : gzip(data)),
    metrics,
    log: logs.log,
  });
  const sent = [batchOf('a', 10), batchOf('b', 10), batchOf('c', 10)];
  for (const b of sent) assert.equal(sink.offer(b), true);
  await sink.close();
  const got: Batch[] = [];
  for (let lease = queue.takeNow(); lease; lease = queue.takeNow()) got.push(lease.batch);
  assert.deepEqual(
    got.map((b) => (b.rawBytes === undefined ? b.data : gunzipSync(b.data)).toString()),
    sent.map((b) => b.data.toString()),
  );
  assert.deepEqual(
    got.map((b) => b.rawBytes),
    [sent[0]!.data.length, undefined, sent[2]!.data.length],
    'only the failed one is raw',
  );
  assert.equal(metrics.counter('polymur_worker_errors_total', '').value({ loop: 'compressor' }), 1);
  assert.deepEqual(logs.lines, ['gzip of a batch of 10 data points failed (out of memory); it is queued uncompressed']);
  await queue.close();
});
