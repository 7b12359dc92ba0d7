// Batch buffers reused (src/batch/buffer-pool.ts): the pool hands back what it was given and
// nothing else; through the proxy's real compressing stage and memory queue, raw buffers are
// filled again only once gzipped, so every line arrives intact while a handful of buffers carry
// hundreds of batches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { createBatcher } from '../../src/batch/batcher.js';
import { createBufferPool, type BufferPool } from '../../src/batch/buffer-pool.js';
import { createMemoryQueue } from '../../src/batch/memory-queue.js';
import { createCompressingSink } from '../../src/forward/compressing-sink.js';

/** A pool whose takes and gives are recorded (by backing ArrayBuffer). */
function watchedPool(keep: number): BufferPool & { taken: ArrayBuffer[]; given: ArrayBuffer[] } {
  const pool = createBufferPool({ keep });
  const taken: ArrayBuffer[] = [];
  const given: ArrayBuffer[] = [];
  return {
    taken,
    given,
    take(size) {
      const buf = pool.take(size);
      taken.push(buf.buffer as ArrayBuffer);
      return buf;
    },
    give(buf) {
      given.push(buf.buffer as ArrayBuffer);
      pool.give(buf);
    },
  };
}

test('the pool reuses what it was given (big enough), ignores foreign buffers, keeps at most `keep`', () => {
  const pool = createBufferPool({ keep: 2 });
  const a = pool.take(100_000);
  assert.equal(a.length, 100_000);
  pool.give(a);
  pool.give(a); // twice: still one free buffer
  const b = pool.take(90_000);
  assert.equal(b.buffer, a.buffer, 'a free buffer big enough is reused');
  assert.equal(b.length, 90_000);
  assert.notEqual(pool.take(90_000).buffer, a.buffer, 'it was handed out once only');

  const foreign = Buffer.allocUnsafeSlow(100_000);
  pool.give(foreign);
  pool.give(b.subarray(10));
  assert.notEqual(pool.take(50_000).buffer, foreign.buffer, 'a buffer the pool did not make is never handed out');

  const [x, y, z] = [pool.take(10), pool.take(10), pool.take(10)];
  for (const buf of [x, y, z]) pool.give(buf);
  const again = new Set([pool.take(10).buffer, pool.take(10).buffer, pool.take(10).buffer]);
  assert.ok(again.has(x.buffer) && again.has(y.buffer) && !again.has(z.buffer), 'only `keep` free buffers are held');

  const small = pool.take(10);
  pool.give(small);
  assert.notEqual(pool.take(1_000_000).buffer, small.buffer, 'a free buffer too small is not used');
});

test('batcher -> compressing stage -> queue with recycling: every line intact, a few buffers for all batches', async () => {
  const pool = watchedPool(3);
  // A small queue, drained slowly below, so the stage is refused and offers the same batch again.
  const queue = createMemoryQueue({ maxBatches: 2, maxBytes: 1 << 24, policy: 'block' });
  const stage = createCompressingSink({ sink: queue, concurrency: 2, pool });
  const batcher = createBatcher({ batchSize: 500, flushIntervalMs: 60_000, sink: stage, pool });

  const lines = 100_000;
  const received: Buffer[] = [];
  let drained = false;
  const drain = (async () => {
    for (let lease = await queue.take(); lease; lease = await queue.take()) {
      received.push(gunzipSync(lease.batch.data));
      lease.ack();
      if (received.length % 10 === 0) await new Promise((r) => setImmediate(r));
    }
    drained = true;
  })();

  let sent = '';
  for (let i = 0; i < lines; i += 250) {
    let text = '';
    for (let j = i; j < i + 250; j++) text += `site.host-${j % 97}.metric.${j} ${j} 1700000000\n`;
    sent += text;
    if (!batcher.add(Buffer.from(text), 250)) await new Promise<void>((r) => batcher.whenReady(r));
  }
  await batcher.close();
  await stage.close();
  await queue.close();
  await drain;
  assert.ok(drained);

  assert.equal(Buffer.concat(received).toString(), sent, 'every line arrived once, in order, unaltered');
  assert.equal(pool.taken.length, lines / 500, 'one buffer taken per batch');
  const distinct = new Set(pool.taken).size;
  assert.ok(distinct <= 6, `a few buffers carried ${pool.taken.length} batches (${distinct})`);
  assert.ok(pool.given.length >= pool.taken.length - 3, 'every gzipped batch gave its buffer back');
});
