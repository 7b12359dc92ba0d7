// The spool queue against its own files: the acknowledgement cursor (out-of-order acks, a cursor
// left without segments), damage in the middle of a segment, v1 segments of the previous format,
// records read back from disk when memory is small, and file modes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { crc32 } from 'node:zlib';
import type { Batch, BatchQueue, Lease } from '../../src/batch/batch.js';
import { Registry } from '../../src/observe/metrics.js';
import { cursorPath, encodeCursor } from '../../src/spool/cursor.js';
import { decodeRecords } from '../../src/spool/record.js';
import { openSpoolQueue, type SpoolOptions } from '../../src/spool/spool-queue.js';
import { until } from '../helpers/points.js';
import { flipBits } from '../helpers/bytes.js';

function batch(i: number): Batch {
  return { data: Buffer.from(`spool.m${i} ${i} 1700000000\nspool.n${i} ${i} 1700000000\n`), points: 2 };
}

function spoolDir(): string {
  return mkdtempSync(join(tmpdir(), 'polymur-spool-'));
}

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort();
}

function open(dir: string, more: Partial<SpoolOptions> = {}): BatchQueue {
  return openSpoolQueue({ dir, maxBytes: 1 << 24, policy: 'block', log: () => {}, ...more });
}

/** Takes every batch (waiting for reads from disk) and acknowledges it; returns their texts. */
async function drain(queue: BatchQueue, count: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const lease = (await queue.take())!;
    out.push(lease.batch.data.toString());
    lease.ack();
  }
  return out;
}

const texts = (from: number, to: number): string[] => Array.from({ length: to - from }, (_, i) => batch(from + i).data.toString());

test('the cursor keeps the acknowledged prefix and the runs acknowledged out of order: after a restart only the rest is sent again', async () => {
  const dir = spoolDir();
  const metrics = new Registry();
  const first = open(dir, { metrics });
  for (let i = 0; i < 50; i++) first.offer(batch(i));
  await until('all 50 on disk', () => metrics.counter('polymur_spool_points_written_total', '').value({ spool: dir }) === 100);
  const leases: Lease[] = [];
  for (let i = 0; i < 20; i++) leases.push(first.takeNow()!);
  // Acknowledged out of order, as several forwarder workers do; 12, 16, 17 and 18 are still in flight.
  for (const i of [3, 0, 2, 1, 4, 5, 6, 7, 8, 9, 10, 11, 19, 13, 14, 15]) leases[i]!.ack();
  await first.close();

  const logs: string[] = [];
  const second = open(dir, { log: (m) => logs.push(m) });
  try {
    assert.ok(logs.includes(`Spool ${dir}: 16 records delivered before the last stop are not sent again`), logs.join('\n'));
    assert.deepEqual(await drain(second, 34), [...texts(12, 13), ...texts(16, 19), ...texts(20, 50)]);
    assert.equal(second.takeNow(), undefined);
  } finally {
    await second.close();
  }
  // Everything delivered: a third start sends nothing and leaves no segment behind.
  const third = open(dir);
  assert.equal(third.depth().batches, 0);
  assert.deepEqual(segments(dir), []);
  await third.close();
});

test('records an earlier run delivered out of order stay covered through a second restart', async () => {
  const dir = spoolDir();
  const first = open(dir);
  for (let i = 0; i < 30; i++) first.offer(batch(i));
  const leases = Array.from({ length: 10 }, () => first.takeNow()!);
  await first.close();
  for (const lease of leases.slice(5)) lease.ack();
  await new Promise<void>((resolve) => setImmediate(resolve));
  first.destroy();
  // Second run: 0-4 and 10-29 come back; only 10 is delivered (out of order: 0 is still in flight).
  const second = open(dir);
  const again = Array.from({ length: 6 }, () => second.takeNow()!);
  assert.deepEqual(
    again.map((l) => l.batch.data.toString()),
    [...texts(0, 5), ...texts(10, 11)],
  );
  again[5]!.ack();
  await second.close();
  second.destroy();
  const third = open(dir);
  try {
    assert.deepEqual(await drain(third, 24), [...texts(0, 5), ...texts(11, 30)]);
  } finally {
    await third.close();
  }
});

test('a cursor left behind with no segment does not hide new records (numbering continues after it)', async () => {
  const dir = spoolDir();
  writeFileSync(cursorPath(dir), encodeCursor({ prefix: { seq: 5, offset: 1_000_000 }, runs: [{ from: { seq: 6, offset: 0 }, to: { seq: 7, offset: 4096 } }] }));
  const first = open(dir);
  for (let i = 0; i < 5; i++) first.offer(batch(i));
  await first.close();
  assert.deepEqual(segments(dir), ['000000000008.seg']);
  const second = open(dir);
  try {
    assert.deepEqual(await drain(second, 5), texts(0, 5));
  } finally {
    await second.close();
  }
});

test('damage in the middle of a segment loses that record only: logged, counted, the file kept until the rest is delivered', async () => {
  const dir = spoolDir();
  const first = open(dir);
  for (let i = 0; i < 30; i++) first.offer(batch(i));
  await first.close();
  const path = join(dir, segments(dir)[0]!);
  const buf = readFileSync(path);
  const victim = decodeRecords(buf).records[10]!;
  flipBits(buf, victim.start + 9, 0x01); // the point count, which v1 did not check
  writeFileSync(path, buf);

  const logs: string[] = [];
  const metrics = new Registry();
  const second = open(dir, { log: (m) => logs.push(m), metrics });
  try {
    const bytes = victim.offset + victim.length - victim.start;
    assert.ok(
      logs.includes(
        `Spool segment ${path}: damaged record at byte ${victim.start} of ${buf.length}; ${bytes} bytes skipped, reading on from the next intact record at byte ${victim.start + bytes}`,
      ),
      logs.join('\n'),
    );
    assert.match(metrics.render(), new RegExp(`polymur_spool_skipped_bytes_total\\{spool="${dir}",kind="damaged"\\} ${bytes}\\n`));
    const got = await drain(second, 28);
    assert.deepEqual(got, [...texts(0, 10), ...texts(11, 29)]);
    assert.ok(segments(dir).includes(basename(path)), 'the segment stays while one intact record is unread');
    assert.deepEqual(statSync(path).size, buf.length);
    assert.deepEqual(await drain(second, 1), texts(29, 30));
    await until('the delivered segment is deleted', () => !segments(dir).includes(basename(path)), 5000);
  } finally {
    await second.close();
  }
});

test('segments of the previous format (v1) are read and delivered', async () => {
  const dir = spoolDir();
  const records = [0, 1, 2].map((i) => {
    const payload = batch(i).data;
    const header = Buffer.alloc(12);
    header.writeUInt32LE(payload.length, 0);
    header.writeUInt32LE(crc32(payload), 4);
    header.writeUInt32LE(2, 8);
    return Buffer.concat([header, payload]);
  });
  writeFileSync(join(dir, '000000000003.seg'), Buffer.concat(records));
  const queue = open(dir);
  try {
    assert.equal(queue.depth().points, 6);
    assert.deepEqual(await drain(queue, 3), texts(0, 3));
    queue.offer(batch(3));
    await queue.close();
    assert.deepEqual(segments(dir), ['000000000004.seg']);
  } finally {
    await queue.close();
  }
  const again = open(dir);
  assert.deepEqual(await drain(again, 1), texts(3, 4));
  await again.close();
});

test('records not held in memory are read back from disk, in order; spool files are mode 0600', async () => {
  const dir = spoolDir();
  const count = 400;
  const first = open(dir, { memoryBytes: 1000, segmentBytes: 4096 });
  for (let i = 0; i < count; i++) assert.equal(first.offer(batch(i)), true);
  // While writes are in flight and reads go to disk, batches still come out whole and in order.
  assert.deepEqual(await drain(first, count / 2), texts(0, count / 2));
  await first.close();
  const files = readdirSync(dir);
  assert.ok(files.includes('ack.cursor') && segments(dir).length > 1, files.join(' '));
  for (const name of files) assert.equal(statSync(join(dir, name)).mode & 0o777, 0o600, name);
  const second = open(dir, { memoryBytes: 1000, segmentBytes: 4096 });
  try {
    assert.deepEqual(await drain(second, count / 2), texts(count / 2, count));
  } finally {
    await second.close();
  }
});

test('a record that no longer checks out when read back is logged, counted and passed over; the rest is delivered', async () => {
  const dir = spoolDir();
  const first = open(dir);
  for (let i = 0; i < 20; i++) first.offer(batch(i));
  await first.close();
  const logs: string[] = [];
  const metrics = new Registry();
  // Too little memory to read the segment's records in at start: they are read back when taken.
  const second = open(dir, { memoryBytes: 100, log: (m) => logs.push(m), metrics });
  try {
    const path = join(dir, segments(dir)[0]!);
    const buf = readFileSync(path);
    const victim = decodeRecords(buf).records[5]!;
    flipBits(buf, victim.offset + 3, 0x01);
    writeFileSync(path, buf);
    assert.deepEqual(await drain(second, 19), [...texts(0, 5), ...texts(6, 20)]);
    assert.equal(second.takeNow(), undefined);
    assert.equal(second.depth().batches, 0);
    assert.match(metrics.render(), new RegExp(`polymur_spool_points_lost_total\\{spool="${dir}",reason="unreadable"\\} 2\\n`));
    assert.ok(
      logs.some((l) => l === `Spool ${dir}: 2 data points lost: record at byte ${victim.start} of ${path} no longer checks out`),
      logs.join('\n'),
    );
  } finally {
    await second.close();
  }
});
