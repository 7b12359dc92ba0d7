// The on-disk spool against what a crash leaves behind: a record torn at the end of a segment (a
// kill -9 in the middle of a write) is detected, logged and skipped, everything before it is
// delivered, delivered segments are deleted, and -spool-max-bytes bounds what is held.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendLoad } from '../../harness/load-generator.js';
import type { Batch, BatchQueue } from '../../src/batch/batch.js';
import { Registry } from '../../src/observe/metrics.js';
import { encodeHeader } from '../../src/spool/record.js';
import { openSpoolQueue } from '../../src/spool/spool-queue.js';
import { delivery, scrapeCounter, until } from '../helpers/points.js';
import { gatewayLater } from '../helpers/gateway-later.js';
import { startProxy, type GatewayProcess } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

function batch(i: number): Batch {
  const data = Buffer.from(`spool.m${i} ${i} 1700000000\nspool.n${i} ${i} 1700000000\n`);
  return { data, points: 2 };
}

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort();
}

/** What a kill -9 in the middle of writing a record leaves: a whole header, part of the payload. */
function tornRecord(): Buffer {
  const payload = Buffer.from('spool.torn 1 1700000000\n'.repeat(20));
  return Buffer.concat([encodeHeader(payload, 20), payload.subarray(0, 37)]);
}

async function drain(queue: BatchQueue): Promise<string[]> {
  const out: string[] = [];
  for (let lease = queue.takeNow(); lease; lease = queue.takeNow()) {
    out.push(lease.batch.data.toString());
    lease.ack();
  }
  return out;
}

test('torn records at the ends of segments are logged and skipped; every record before them is delivered; delivered segments are deleted', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-spool-'));
  const logs: string[] = [];
  const first = openSpoolQueue({ dir, maxBytes: 1 << 20, policy: 'block', segmentBytes: 512, log: (m) => logs.push(m) });
  for (let i = 0; i < 40; i++) assert.equal(first.offer(batch(i)), true);
  await first.close();
  const files = segments(dir);
  assert.ok(files.length >= 4, `${files.length} segments`);
  // Tear the end of the first and of the last segment.
  const tornSizes = [files[0]!, files.at(-1)!].map((name) => {
    const path = join(dir, name);
    const before = statSync(path).size;
    appendFileSync(path, tornRecord());
    return [path, before] as const;
  });

  const second = openSpoolQueue({ dir, maxBytes: 1 << 20, policy: 'block', segmentBytes: 512, log: (m) => logs.push(m) });
  try {
    for (const [path, validBytes] of tornSizes) {
      const line = logs.find((l) => l.includes(path));
      assert.equal(
        line,
        `Spool segment ${path}: torn record at byte ${validBytes} of ${validBytes + tornRecord().length}; the ${tornRecord().length} bytes from there are skipped`,
      );
      assert.equal(statSync(path).size, validBytes, 'the torn tail is cut off the file');
    }
    assert.ok(logs.includes(`Spool ${dir}: 80 data points in 40 batches from an earlier run, sent first`), logs.join('\n'));
    const replayed = await drain(second);
    assert.deepEqual(
      replayed,
      Array.from({ length: 40 }, (_, i) => batch(i).data.toString()),
    );
    // Every replayed segment is deleted (off the event loop) once acknowledged.
    await until('the replayed segments deleted', () => segments(dir).every((n) => !files.includes(n)), 5000);
    assert.equal(second.depth().bytes, 0);
  } finally {
    await second.close();
  }
});

test('-spool-max-bytes bounds what the spool holds, on disk too: block refuses, drop reports', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-spool-'));
  const maxBytes = 4096;
  const segmentBytes = 1024;
  const diskBytes = (): number => segments(dir).reduce((sum, n) => sum + statSync(join(dir, n)).size, 0);
  const metrics = new Registry();
  const written = (): number => metrics.counter('polymur_spool_points_written_total', '').value({ spool: dir });
  const blocking = openSpoolQueue({ dir, maxBytes, policy: 'block', segmentBytes, log: () => {}, metrics });
  let accepted = 0;
  try {
    while (blocking.offer(batch(accepted))) accepted++;
    assert.ok(accepted > 10 && accepted < 200, `${accepted} batches accepted before the spool was full`);
    assert.ok(blocking.depth().bytes <= maxBytes, `holds ${blocking.depth().bytes} B`);
    // Appends run off the event loop: the bound holds on disk once they are written.
    await until('every accepted batch on disk', () => written() === 2 * accepted, 5000);
    assert.ok(diskBytes() <= maxBytes, `${diskBytes()} B on disk`);
    let ready = false;
    blocking.whenReady(() => (ready = true));
    assert.equal(ready, false);
    // Taking and acknowledging in order frees room, and the disk follows (at most one partly
    // delivered segment beyond what is held).
    for (let i = 0; i < accepted / 2; i++) blocking.takeNow()!.ack();
    assert.equal(ready, true);
    await until('the disk follows what is held', () => diskBytes() <= blocking.depth().bytes + segmentBytes, 5000);
  } finally {
    await blocking.close();
  }

  const dropDir = mkdtempSync(join(tmpdir(), 'polymur-spool-'));
  const dropped: Batch[] = [];
  const dropping = openSpoolQueue({ dir: dropDir, maxBytes, policy: 'drop', segmentBytes, log: () => {}, onDrop: (b) => dropped.push(b) });
  try {
    for (let i = 0; i < 300; i++) assert.equal(dropping.offer(batch(i)), true);
    assert.ok(dropping.depth().bytes <= maxBytes);
    assert.equal(dropping.depth().batches + dropped.length, 300, 'every batch is held or reported dropped');
  } finally {
    await dropping.close();
  }
  process.stdout.write(
    `# spool bound: -spool-max-bytes ${maxBytes}: ${accepted} batches held before block refused; drop policy held ${300 - dropped.length}, reported ${dropped.length} dropped\n`,
  );
});

test('a proxy killed with SIGKILL leaves a torn record; on restart it is logged and skipped and every counted point is delivered', async () => {
  const sink = await startTcpSink();
  const later = await gatewayLater({ args: ['-dev-mode', '-destinations', sink.address] });
  let gateway: GatewayProcess | undefined;
  const spool = mkdtempSync(join(tmpdir(), 'polymur-spool-'));
  const proxyArgs = ['-timeout', '2s', '-max-retry-delay', '1s', '-flush-interval', '100ms', '-verbose=false', '-spool-dir', spool];
  let proxy = await startProxy({ gateway: later.url, cert: later.cert, args: proxyArgs });
  try {
    const points = 30_000;
    await sendLoad({ port: proxy.port, connections: 2, points });
    await until('the proxy counted every point', async () => (await scrapeCounter(proxy.statPort, 'polymur_points_received_total')) >= points);
    // Appends run off the event loop: what was read is on disk a moment later.
    await until('the spool wrote every point', async () => (await scrapeCounter(proxy.statPort, 'polymur_spool_points_written_total')) >= points);
    await proxy.stop('SIGKILL');
    const last = join(spool, segments(spool).at(-1)!);
    const validBytes = statSync(last).size;
    appendFileSync(last, tornRecord());
    proxy = await startProxy({ gateway: later.url, cert: later.cert, args: proxyArgs });
    await proxy.waitForLog(new RegExp(`Spool segment ${last}: torn record at byte ${validBytes} of ${validBytes + tornRecord().length}`));
    gateway = await later.start();
    await until('every point at the sink', () => delivery(sink.lines, 2, points).missing === 0, 60_000);
    await until('delivered segments deleted', () => segments(spool).every((n) => statSync(join(spool, n)).size === 0), 10_000);
    const d = delivery(sink.lines, 2, points);
    process.stdout.write(
      `# spool after SIGKILL + torn record: sent ${d.sent}, arrived ${d.arrived}, missing ${d.missing}, duplicated ${d.duplicated}; torn line absent: ${!sink.lines.some((l) => l.startsWith('spool.torn'))}\n`,
    );
    assert.equal(d.missing, 0);
    assert.ok(!sink.lines.some((l) => l.startsWith('spool.torn')), 'nothing of the torn record is delivered');
  } finally {
    await proxy.stop();
    await gateway?.stop();
    await sink.close();
  }
});
