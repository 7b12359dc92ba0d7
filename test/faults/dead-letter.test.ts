// The dead-letter file when the disk says no, with real processes: a real gateway with a small
// -max-batch-bytes answers 413 to one oversized batch; the file it must go to is on a tmpfs the
// test fills up (or mounts read-only, or leaves out). The proxy refuses to start on a path it
// cannot write, keeps a rejected batch while the append fails, writes it once when space is
// back, caps the file by rotation, and a well-behaved stream through it loses nothing meanwhile.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sendLoad } from '../../harness/load-generator.js';
import { runToExit } from '../../harness/programs.js';
import { delivery, peakRssMb, scrapeCounter, until } from '../helpers/points.js';
import { startGateway, startProxy } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';
import { mountTmpfs } from '../helpers/tmpfs.js';

const FAST_RETRY = ['-timeout', '2s', '-max-retry-delay', '1s', '-flush-interval', '100ms', '-verbose=false'];

/** `count` lines of `bytes` each (name padded), one batch in one write. */
function oversized(tag: string, count: number, bytes: number): string {
  return Array.from({ length: count }, (_, i) => {
    const tail = ` ${i} 1700000000\n`;
    const name = `dead.${tag}.m${i}.`;
    return name + 'x'.repeat(bytes - name.length - tail.length) + tail;
  }).join('');
}

async function sendOnce(port: number, text: string): Promise<void> {
  const client = connect(port, '127.0.0.1');
  await once(client, 'connect');
  client.end(text);
  await once(client, 'close');
}

function mode(path: string): string {
  return (statSync(path).mode & 0o777).toString(8);
}

test('unwritable dead-letter: a -dead-letter path that cannot be written stops the proxy at start with exit 2 and the reason', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-dead-'));
  const readOnly = mountTmpfs({ sizeBytes: 1 << 20, readOnly: true });
  const aDirectory = join(dir, 'a-directory');
  mkdirSync(aDirectory);
  try {
    const rows: Array<[string, RegExp]> = [
      [join(dir, 'missing', 'dead.log'), /-dead-letter: \S+\/missing\/dead\.log: directory \S+\/missing does not exist/],
      [join(readOnly.dir, 'dead.log'), /-dead-letter: \S+\/dead\.log: directory \S+ is not writable \(EROFS\)/],
      [aDirectory, /-dead-letter: \S+\/a-directory: not a regular file/],
    ];
    for (const [path, message] of rows) {
      const r = await runToExit('proxy', ['-listen-addr', '127.0.0.1:0', '-stat-addr', '127.0.0.1:0', '-gateway', 'https://localhost:1', '-api-key', 'k', '-dead-letter', path]);
      assert.equal(r.code, 2, `${path}: exit ${r.code}\n${r.stderr}`);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /Metrics listener started/);
    }
  } finally {
    readOnly.unmount();
  }
});

test('unwritable dead-letter: the disk is full when a batch is rejected; the proxy keeps it, retries, writes it once when space is back; a well-behaved stream loses nothing', async () => {
  const disk = mountTmpfs({ sizeBytes: 1 << 20 });
  const sink = await startTcpSink();
  // Good batches are at most 2 x 200 lines of about 62 bytes (the forwarder joins queued ones):
  // well under 32,000; the bad one is 20 lines of 2,000 bytes.
  const gateway = await startGateway({ args: ['-dev-mode', '-destinations', sink.address, '-max-batch-bytes', '32000'] });
  const deadLetter = join(disk.dir, 'dead.log');
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, args: [...FAST_RETRY, '-batch-size', '200', '-dead-letter', deadLetter] });
  try {
    // Room for part of the batch: a failed append must not leave that part behind.
    disk.fill(8192);
    const bad = oversized('full', 20, 2000);
    await sendOnce(proxy.port, bad);
    await proxy.waitForLog(/cannot write the dead-letter file \S+: ENOSPC: .*; keeping the batch of 20 data points the gateway rejected \(HTTP 413: Batch Too Large\), retry 1 in/);

    // A well-behaved client through the same proxy while the batch waits for the disk.
    const points = 20_000;
    const sending = sendLoad({ port: proxy.port, connections: 1, points, ratePerSecond: 10_000 });
    await until('3 failed appends', async () => (await scrapeCounter(proxy.statPort, 'polymur_dead_letter_write_errors_total')) >= 3, 20_000);
    assert.equal(proxy.proc.exitCode, null, 'the proxy is running');
    assert.equal(statSync(deadLetter).size, 0, 'no part of the batch is left in the file by the failed appends');
    assert.equal(await scrapeCounter(proxy.statPort, 'polymur_dead_letter_points_total'), 0);
    await sending;

    const failedAppends = await scrapeCounter(proxy.statPort, 'polymur_dead_letter_write_errors_total');
    const spaceBack = Date.now();
    disk.free();
    await proxy.waitForLog(/Batch of 20 data points rejected by the gateway \(HTTP 413: Batch Too Large\); written to /, 10_000);
    const writtenAfterMs = Date.now() - spaceBack;
    const text = readFileSync(deadLetter, 'utf8');
    const [head, ...rest] = text.split('\n');
    assert.match(head!, /^# \S+ rejected by the gateway \(HTTP 413: Batch Too Large\): 20 data points$/);
    assert.equal(rest.join('\n'), bad, 'the batch is in the file once, whole');
    assert.equal(mode(deadLetter), '600');
    assert.equal(await scrapeCounter(proxy.statPort, 'polymur_dead_letter_points_total'), 20);

    await until(
      'every well-behaved point at the sink',
      () =>
        delivery(
          sink.lines.filter((l) => l.startsWith('collectd.')),
          1,
          points,
        ).missing === 0,
      60_000,
    );
    const d = delivery(
      sink.lines.filter((l) => l.startsWith('collectd.')),
      1,
      points,
    );
    assert.equal(sink.lines.filter((l) => l.startsWith('dead.')).length, 0, 'the rejected batch did not reach the sink');
    process.stdout.write(
      `# unwritable dead-letter (full tmpfs): ${failedAppends} failed appends counted while full, the 20-point batch written once ${writtenAfterMs} ms after space came back; well-behaved client sent ${d.sent}, arrived ${d.arrived}, missing ${d.missing}, duplicated ${d.duplicated}; proxy peak RSS ${peakRssMb(proxy.proc.pid!)} MB\n`,
    );
    assert.equal(d.missing, 0);
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.close();
    disk.unmount();
  }
});

test('-dead-letter-max-bytes: past the cap the file becomes PATH.1; the older PATH.1 is deleted and its points and bytes counted', async () => {
  const sink = await startTcpSink();
  const gateway = await startGateway({ args: ['-dev-mode', '-destinations', sink.address, '-max-batch-bytes', '4000'] });
  const deadLetter = join(mkdtempSync(join(tmpdir(), 'polymur-dead-')), 'dead.log');
  // Each rejected batch is 200 lines of 40 bytes plus its head: two do not fit in 10,000 bytes.
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, args: [...FAST_RETRY, '-dead-letter', deadLetter, '-dead-letter-max-bytes', '10000'] });
  try {
    const batches = ['one', 'two', 'three'].map((tag) => oversized(tag, 200, 40));
    for (const [i, text] of batches.entries()) {
      await sendOnce(proxy.port, text);
      await until(`batch ${i + 1} in the dead-letter file`, async () => (await scrapeCounter(proxy.statPort, 'polymur_dead_letter_points_total')) === 200 * (i + 1), 20_000);
    }
    const body = (path: string): string => readFileSync(path, 'utf8').split('\n').slice(1).join('\n');
    assert.equal(body(deadLetter), batches[2]);
    assert.equal(body(`${deadLetter}.1`), batches[1]);
    const firstSize = Buffer.byteLength(batches[0]!) + Buffer.byteLength(readFileSync(`${deadLetter}.1`, 'utf8').split('\n')[0]! + '\n');
    assert.equal(await scrapeCounter(proxy.statPort, 'polymur_dead_letter_discarded_points_total'), 200);
    assert.equal(await scrapeCounter(proxy.statPort, 'polymur_dead_letter_discarded_bytes_total'), firstSize);
    assert.equal(mode(deadLetter), '600');
    assert.equal(mode(`${deadLetter}.1`), '600');
    await proxy.waitForLog(/Dead-letter file over -dead-letter-max-bytes 10000: \S+\.1 \(200 data points, \d+ bytes\) deleted/);
    process.stdout.write(
      `# dead-letter rotation: 3 batches of 200 points, cap 10000 B: ${deadLetter} and .1 hold the last two, the first (200 points, ${firstSize} B) deleted and counted\n`,
    );
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.close();
  }
});
