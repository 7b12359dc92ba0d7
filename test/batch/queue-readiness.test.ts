// A batcher whose queue refuses a batch that does not fit in the bytes left must wait for an ack,
// not re-offer in a loop: the queues once said "ready" whenever any bytes were free, and a proxy
// under a full-speed burst died of "Maximum call stack size exceeded".
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BatchQueue } from '../../src/batch/batch.js';
import { createBatcher } from '../../src/batch/batcher.js';
import { createMemoryQueue } from '../../src/batch/memory-queue.js';
import { openSpoolQueue } from '../../src/spool/spool-queue.js';

const LINE = Buffer.from('collectd.host-001.load.shortterm 0.25 1700000000\n');

async function batchThatDoesNotFitWaitsForAck(queue: BatchQueue): Promise<void> {
  const batcher = createBatcher({ batchSize: 1, flushIntervalMs: 0, sink: queue });
  assert.equal(batcher.add(LINE, 1), true, 'the first batch fits');
  // Bytes are left, but not enough for a second line: refused, kept, no recursion.
  assert.equal(batcher.add(LINE, 1), false, 'the second batch is refused while the first is held');
  let ready = false;
  batcher.whenReady(() => (ready = true));
  assert.equal(ready, false, 'not ready before the first batch is acknowledged');
  const first = queue.takeNow();
  assert.ok(first, 'the first batch is queued');
  first.ack();
  assert.equal(ready, true, 'ready once the first batch is acknowledged');
  const second = queue.takeNow();
  assert.ok(second, 'the refused batch was offered again after the ack');
  assert.deepEqual(second.batch.data, LINE);
  second.ack();
  await batcher.close();
  await queue.close();
}

test('memory queue: a refused batch waits for an ack instead of looping', async () => {
  await batchThatDoesNotFitWaitsForAck(createMemoryQueue({ maxBatches: 100, maxBytes: LINE.length + 10, policy: 'block' }));
});

test('spool queue: a refused batch waits for an ack instead of looping', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-readiness-'));
  try {
    // The spool counts each record's header too: room for one record and a few bytes more.
    await batchThatDoesNotFitWaitsForAck(openSpoolQueue({ dir, maxBytes: LINE.length + 40, policy: 'block', log: () => {} }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
