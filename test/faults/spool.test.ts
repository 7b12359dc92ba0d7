// Fault injection on the spool with real processes on 127.0.0.1: a spool on a full disk (a small
// tmpfs the test mounts), a spool damaged on disk, and a spooling proxy killed with SIGKILL while
// it delivers; a spooling gateway that answers 200 only once its spool has the batch on disk.
// Each scenario reports points sent, arrived and duplicated.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendLoad } from '../../harness/load-generator.js';
import { makeCert } from '../../harness/certs.js';
import { delivery, peakRssMb, scrapeCounter, until, type Delivery } from '../helpers/points.js';
import { startGateway, startProxy } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';
import { decodeRecords } from '../../src/spool/record.js';
import { flipBits } from '../helpers/bytes.js';
import { gzipSync } from 'node:zlib';
import { rawPost } from '../helpers/raw-http.js';

const CONNECTIONS = 2;
const FAST_RETRY = ['-timeout', '2s', '-max-retry-delay', '1s', '-flush-interval', '100ms', '-verbose=false'];
const MiB = 1024 * 1024;

function report(name: string, d: Delivery, more = ''): void {
  process.stdout.write(`# ${name}: sent ${d.sent}, arrived ${d.arrived}, distinct ${d.distinct}, missing ${d.missing}, duplicated ${d.duplicated}${more}\n`);
}

function segments(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => n.endsWith('.seg'))
    .sort();
}

/** A gateway that is down: its port and certificate, to start it later on the same port. */
async function downGateway(destination: string) {
  const cert = makeCert();
  const args = ['-dev-mode', '-destinations', destination];
  const gateway = await startGateway({ cert, args });
  await gateway.stop();
  return { url: gateway.url, cert, start: () => startGateway({ cert, args: [...args, '-listen-https-port', String(gateway.port)] }) };
}

/** Runs `body` with a tmpfs of `bytes` mounted on a fresh directory; skips where mounting is not allowed. */
async function withTmpfs(t: TestContext, bytes: number, body: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    rmdirSync(dir);
    t.skip(`cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]}); the full-disk scenario needs root`);
    return;
  }
  try {
    await body(dir);
  } finally {
    execFileSync('umount', [dir]);
    rmdirSync(dir);
  }
}

test('a spool on a full disk: clients are paused, nothing crashes; once space returns every point arrives', async (t) => {
  await withTmpfs(t, 4 * MiB, async (mnt) => {
    // Leave the spool about 400 KB: a few thousand points, far less than the stream.
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(3.6 * MiB));
    const sink = await startTcpSink();
    const gw = await downGateway(sink.address);
    let gateway: Awaited<ReturnType<typeof gw.start>> | undefined;
    const spool = join(mnt, 'spool');
    const proxy = await startProxy({ gateway: gw.url, cert: gw.cert, args: [...FAST_RETRY, '-spool-dir', spool, '-spool-max-bytes', String(100 * MiB)] });
    try {
      const points = 40_000;
      let sent = false;
      const sending = sendLoad({ port: proxy.port, connections: CONNECTIONS, points }).then(() => (sent = true));
      await proxy.waitForLog(new RegExp(`SPOOL ${spool} cannot write to \\S+: .*(ENOSPC|no space)`, 'i'));
      // The write is retried with backoff while the disk stays full; the clients wait.
      await until('three failed appends', async () => (await scrapeCounter(proxy.statPort, 'polymur_spool_io_errors_total')) >= 3);
      const received = await scrapeCounter(proxy.statPort, 'polymur_points_received_total');
      const written = await scrapeCounter(proxy.statPort, 'polymur_spool_points_written_total');
      assert.equal(await scrapeCounter(proxy.statPort, 'polymur_spool_fault'), 1);
      assert.equal(sent, false, 'the clients are paused while the disk is full');
      assert.ok(received < points, `${received} of ${points} points read`);
      assert.equal(proxy.proc.exitCode, null, 'the proxy is alive');
      process.stdout.write(`# full disk: ${written} points on disk, ${received} read, the rest waits in the clients; proxy peak RSS ${peakRssMb(proxy.proc.pid!)} MB\n`);

      rmSync(filler);
      await sending;
      await until('every point on disk', async () => (await scrapeCounter(proxy.statPort, 'polymur_spool_points_written_total')) >= points);
      await proxy.waitForLog(new RegExp(`Spool ${spool}: writing works again`));
      assert.equal(await scrapeCounter(proxy.statPort, 'polymur_spool_fault'), 0);
      gateway = await gw.start();
      await until('every point at the sink', () => delivery(sink.lines, CONNECTIONS, points).missing === 0, 60_000);
      const d = delivery(sink.lines, CONNECTIONS, points);
      const failures = await scrapeCounter(proxy.statPort, 'polymur_spool_io_errors_total');
      report('spool on a full disk (block)', d, `; ${failures} failed appends retried; proxy peak RSS ${peakRssMb(proxy.proc.pid!)} MB`);
      // Loud once when it starts failing and once when it works again, not once per retry.
      assert.equal(
        proxy
          .stderr()
          .split('\n')
          .filter((l) => l.includes(`SPOOL ${spool} cannot write`)).length,
        1,
      );
      assert.equal(
        proxy
          .stderr()
          .split('\n')
          .filter((l) => l.includes(`Spool ${spool}: writing works again`)).length,
        1,
      );
      assert.equal(d.missing, 0);
      assert.equal(d.duplicated, 0);
    } finally {
      await proxy.stop();
      await gateway?.stop();
      await sink.close();
    }
  });
});

test('a spool on a full disk with -when-full drop: what cannot be held is dropped and counted, the rest arrives', async (t) => {
  await withTmpfs(t, 4 * MiB, async (mnt) => {
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(3.6 * MiB));
    const sink = await startTcpSink();
    const gw = await downGateway(sink.address);
    const spool = join(mnt, 'spool');
    const proxy = await startProxy({ gateway: gw.url, cert: gw.cert, args: [...FAST_RETRY, '-when-full', 'drop', '-spool-dir', spool, '-spool-max-bytes', String(100 * MiB)] });
    let gateway: Awaited<ReturnType<typeof gw.start>> | undefined;
    try {
      const points = 40_000;
      // With drop the clients are never paused: the whole stream is read while the disk is full.
      await sendLoad({ port: proxy.port, connections: CONNECTIONS, points });
      await until('every point read', async () => (await scrapeCounter(proxy.statPort, 'polymur_points_received_total')) >= points);
      const dropped = await scrapeCounter(proxy.statPort, 'polymur_points_dropped_total');
      assert.ok(dropped > 0, 'points were dropped');
      rmSync(filler);
      await until('what was held is on disk', async () => (await scrapeCounter(proxy.statPort, 'polymur_spool_points_written_total')) + dropped >= points);
      gateway = await gw.start();
      await until('every held point at the sink', () => delivery(sink.lines, CONNECTIONS, points).missing === dropped, 60_000);
      const d = delivery(sink.lines, CONNECTIONS, points);
      report('spool on a full disk (drop)', d, `; dropped and counted ${dropped}; proxy peak RSS ${peakRssMb(proxy.proc.pid!)} MB`);
      assert.equal(d.distinct + dropped, points, 'every point arrived or was counted dropped');
      assert.equal(d.duplicated, 0);
    } finally {
      await proxy.stop();
      await gateway?.stop();
      await sink.close();
    }
  });
});

/** The ids (value field) of the lines of a record's payload. */
function ids(payload: Buffer): number[] {
  return payload
    .toString()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => Number(l.split(' ')[1]));
}

test('a damaged spool: flipped bytes cost the damaged records only; every intact record arrives; the damage is counted', async () => {
  const sink = await startTcpSink();
  const gw = await downGateway(sink.address);
  const spool = mkdtempSync(join(tmpdir(), 'polymur-spool-'));
  const proxyArgs = [...FAST_RETRY, '-spool-dir', spool];
  let proxy = await startProxy({ gateway: gw.url, cert: gw.cert, args: proxyArgs });
  let gateway: Awaited<ReturnType<typeof gw.start>> | undefined;
  try {
    const points = 50_000;
    await sendLoad({ port: proxy.port, connections: CONNECTIONS, points });
    await until('every point on disk', async () => (await scrapeCounter(proxy.statPort, 'polymur_spool_points_written_total')) >= points);
    await proxy.stop('SIGKILL');

    // One flipped payload byte in one record and a flipped point count in another, mid-segment.
    const path = join(spool, segments(spool)[0]!);
    const buf = readFileSync(path);
    const records = decodeRecords(buf).records;
    assert.ok(records.length >= 10, `${records.length} records`);
    const victims = [records[Math.floor(records.length / 3)]!, records[Math.floor((2 * records.length) / 3)]!];
    const lostIds = victims.flatMap((r) => ids(buf.subarray(r.offset, r.offset + r.length)));
    flipBits(buf, victims[0]!.offset + 7, 0x10);
    flipBits(buf, victims[1]!.start + 9, 0x01);
    writeFileSync(path, buf);

    proxy = await startProxy({ gateway: gw.url, cert: gw.cert, args: proxyArgs });
    for (const v of victims)
      await proxy.waitForLog(
        new RegExp(
          `Spool segment ${path}: damaged record at byte ${v.start} of ${buf.length}; ${v.offset + v.length - v.start} bytes skipped, reading on from the next intact record`,
        ),
      );
    gateway = await gw.start();
    await until('every intact point at the sink', () => delivery(sink.lines, CONNECTIONS, points).missing === lostIds.length, 60_000);
    const d = delivery(sink.lines, CONNECTIONS, points);
    const arrivedIds = new Set(sink.lines.map((l) => Number(l.split(' ')[1])));
    const skipped = await scrapeCounter(proxy.statPort, 'polymur_spool_skipped_bytes_total');
    report(
      'damaged spool (2 records flipped)',
      d,
      `; lost with the damaged records ${lostIds.length}, skipped bytes counted ${skipped}; proxy peak RSS ${peakRssMb(proxy.proc.pid!)} MB`,
    );
    assert.ok(
      lostIds.every((id) => !arrivedIds.has(id)),
      'nothing of a damaged record is delivered',
    );
    assert.equal(d.distinct, points - lostIds.length, 'every intact record arrives');
    assert.equal(
      skipped,
      victims.reduce((sum, v) => sum + v.offset + v.length - v.start, 0),
    );
    assert.equal(d.duplicated, 0);
  } finally {
    await proxy.stop();
    await gateway?.stop();
    await sink.close();
  }
});

test('a spooling proxy killed with SIGKILL while it delivers: the restart resends under 1 % of the stream', async () => {
  const sink = await startTcpSink();
  const gw = await downGateway(sink.address);
  const spool = mkdtempSync(join(tmpdir(), 'polymur-spool-'));
  const proxyArgs = [...FAST_RETRY, '-batch-size', '100', '-spool-dir', spool];
  let proxy = await startProxy({ gateway: gw.url, cert: gw.cert, args: proxyArgs });
  let gateway: Awaited<ReturnType<typeof gw.start>> | undefined;
  try {
    // Large enough that the batches in flight at the kill stay a small part of 1 %: delivered by the
    // gateway but never acknowledged (at-least-once), -workers 3 of them, each -batch-size 100
    // points joined from spool records.
    const points = 400_000;
    await sendLoad({ port: proxy.port, connections: CONNECTIONS, points });
    await until('every point on disk', async () => (await scrapeCounter(proxy.statPort, 'polymur_spool_points_written_total')) >= points);
    gateway = await gw.start();
    const deliveryStarted = Date.now();
    // Killed a third of the way through delivering what it holds.
    await sink.waitForLines(points / 3);
    await proxy.stop('SIGKILL');
    const atKill = sink.lines.length;
    const killedAfter = Date.now() - deliveryStarted;
    proxy = await startProxy({ gateway: gw.url, cert: gw.cert, args: proxyArgs });
    await until('every point at the sink', () => delivery(sink.lines, CONNECTIONS, points).missing === 0, 60_000);
    const d = delivery(sink.lines, CONNECTIONS, points);
    report(
      'spooling proxy SIGKILL while delivering',
      d,
      `; ${atKill} lines at the sink when it was killed ${killedAfter} ms into delivery; duplicates ${((100 * d.duplicated) / points).toFixed(2)} % of the stream; restarted proxy peak RSS ${peakRssMb(proxy.proc.pid!)} MB`,
    );
    assert.equal(d.missing, 0);
    assert.ok(d.duplicated < points / 100, `${d.duplicated} duplicates stay under 1 % of ${points}`);
  } finally {
    await proxy.stop();
    await gateway?.stop();
    await sink.close();
  }
});

test("a gateway's spool on a full disk: /ingest answers 503 + Retry-After, not 200, while it cannot write the batch; a 200 once it can survives a SIGKILL right after it", async (t) => {
  await withTmpfs(t, 4 * MiB, async (mnt) => {
    const filler = join(mnt, 'filler');
    writeFileSync(filler, Buffer.alloc(4 * MiB - 64 * 1024));
    // The destination is down until the end, so that nothing the gateway takes leaves it but through its spool.
    const probe = await startTcpSink();
    const port = Number(probe.address.split(':')[1]);
    await probe.close();
    const cert = makeCert();
    const spool = join(mnt, 'spool');
    const args = ['-dev-mode', '-destinations', `127.0.0.1:${port}`, '-spool-dir', spool];
    const lines = (tag: string): Buffer =>
      Buffer.from(Array.from({ length: 2_000 }, (_, i) => `spool.ack.${tag}.m${i % 20} ${i} ${1_700_000_000 + Math.floor(i / 20)}\n`).join(''));
    let gateway = await startGateway({ cert, args });
    let sink: Awaited<ReturnType<typeof startTcpSink>> | undefined;
    try {
      const refused = await rawPost(gateway.port, cert.cert, '/ingest', '123', gzipSync(lines('refused')));
      assert.equal(refused.status, 503, `with the spool's disk full: ${refused.status} ${refused.body}`);
      assert.equal(refused.headers['retry-after'], '1');
      rmSync(filler);
      await until('the spool writes again', async () => (await scrapeCounter(gateway.statPort, 'polymur_spool_fault')) === 0, 30_000);
      const taken = await rawPost(gateway.port, cert.cert, '/ingest', '123', gzipSync(lines('taken')));
      assert.equal(taken.status, 200, `with room on the disk: ${taken.status} ${taken.body}`);
      gateway.proc.kill('SIGKILL');
      await gateway.exited;
      sink = await startTcpSink(port);
      gateway = await startGateway({ cert, args: [...args, '-listen-https-port', String(gateway.port)] });
      await until('every point of the batch answered 200 at the destination', () => sink!.lines.filter((l) => l.startsWith('spool.ack.taken.')).length >= 2_000, 30_000);
      const taken2 = sink.lines.filter((l) => l.startsWith('spool.ack.taken.'));
      const refusedArrived = sink.lines.filter((l) => l.startsWith('spool.ack.refused.')).length;
      process.stdout.write(
        `# gateway spool on a full disk: 503 "${refused.body.trim()}"; after a SIGKILL right after the 200, ${new Set(taken2).size} of 2000 points of that batch arrived (${refusedArrived} of the refused one, which the client would send again)\n`,
      );
      assert.equal(new Set(taken2).size, 2_000);
    } finally {
      await gateway.stop();
      await sink?.close();
    }
  });
});
