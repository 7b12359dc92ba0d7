// The resend window's bookkeeping: it keeps copies of its own (the batch handed to it may be
// reused or collected at once), in chunks it fills again as batches are let go of, so that its
// memory stays near what it counts; it lets go of batches by the stream's offset the kernel says
// was read, and what it hands back on a broken connection stays intact however much is added after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createResendWindow } from '../../src/route/resend-window.js';
import { CHUNK_BYTES } from '../../src/route/window-arena.js';

const batchOf = (bytes: number, fill: number) => ({ data: Buffer.alloc(bytes, fill), points: 1 });
const window = () => createResendWindow({ enabled: true, maxBytes: 64 * 1024 * 1024, coverBytes: Infinity });

test('resend window: a copy is kept, the batch handed to it can be filled again at once', () => {
  const w = window();
  const batch = batchOf(1000, 0x61);
  w.add(batch);
  batch.data.fill(0x62);
  const [kept] = w.drain();
  assert.ok(kept !== undefined && kept.data.every((b) => b === 0x61), 'the window kept the bytes as they were written');
  assert.notEqual(kept.data.buffer, batch.data.buffer);
});

test('resend window: let go of by the offset read; its memory is a few chunks however much went through it', () => {
  const w = window();
  const size = 100 * 1024;
  let at = 0;
  let mostBuffer = 0;
  for (let i = 0; i < 1000; i++) {
    w.add(batchOf(size, i & 0xff), i);
    at += size;
    // The peer read all but the last two batches.
    w.release(at - 2 * size);
    mostBuffer = Math.max(mostBuffer, w.bufferBytes);
  }
  assert.equal(w.bytes, 2 * size);
  assert.equal(w.peakBytes, 3 * size, 'each batch is added before the one the peer read is let go of');
  assert.ok(mostBuffer <= 2 * CHUNK_BYTES, `${mostBuffer} bytes of chunks for 100 MB written, 200 KiB held at a time`);
  // Where the stream stood: the end of the last batch added before a moment.
  assert.equal(w.writtenBefore(999.5), at);
  assert.equal(w.writtenBefore(998.5), at - size);
  assert.equal(w.writtenBefore(997.5), undefined, 'older than what the window holds: unknown');
  const left = w.drain();
  assert.deepEqual(
    left.map((b) => b.data[0]),
    [998 & 0xff, 999 & 0xff],
  );
});

test('resend window: what drain() hands back is never overwritten by later batches', () => {
  const w = window();
  for (let i = 0; i < 5; i++) w.add(batchOf(300 * 1024, 0x10 + i));
  const unread = w.drain();
  assert.equal(w.bufferBytes, 0);
  for (let i = 0; i < 20; i++) {
    w.add(batchOf(300 * 1024, 0x70));
    w.release(Infinity);
  }
  assert.deepEqual(
    unread.map((b) => b.data.every((x) => x === b.data[0]) && b.data[0]),
    [0x10, 0x11, 0x12, 0x13, 0x14],
  );
});

test('resend window: a batch larger than a chunk gets a chunk of its size', () => {
  const w = window();
  w.add(batchOf(3 * CHUNK_BYTES, 0x33));
  assert.equal(w.bufferBytes, 3 * CHUNK_BYTES);
  w.add(batchOf(10, 0x34));
  w.release(3 * CHUNK_BYTES);
  assert.equal(w.bytes, 10);
  assert.equal(w.bufferBytes, CHUNK_BYTES);
});
