// The proxy's delivery policy with real processes: a revoked key keeps the data until the key is
// restored, a batch the gateway refuses as too large goes to the dead-letter file with the reason,
// a full queue stops reading the clients (-when-full block) or drops and counts (-when-full drop).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pointId, sendLoad } from '../../harness/load-generator.js';
import { runToExit } from '../../harness/programs.js';
import { delivery, peakRssMb, scrapeCounter, until } from '../helpers/points.js';
import { gatewayLater, type GatewayLater } from '../helpers/gateway-later.js';
import { startGateway, startProxy, writeKeyFile, type GatewayProcess, type ListenerProcess } from '../../harness/system.js';
import { freePort } from '../helpers/carbon.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

const KEY = 'delivery-key-0123456789abcdef01234';
const FAST_RETRY = ['-timeout', '2s', '-max-retry-delay', '1s', '-flush-interval', '100ms', '-verbose=false'];

test('401: a revoked key keeps the data, retried with a loud log line; restoring the key lets all of it through', async () => {
  const sink = await startTcpSink();
  const keys = writeKeyFile({ site1: KEY });
  const gateway = await startGateway({ keyFile: keys, args: ['-destinations', sink.address] });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: KEY, args: FAST_RETRY });
  try {
    const points = 30_000;
    const sending = sendLoad({ port: proxy.port, connections: 1, points, ratePerSecond: 6_000 });
    await sink.waitForLines(3_000);
    // The operator deletes the key with the real tool...
    const deleted = await runToExit('keys', ['-key-store', keys.url, 'delete', 'site1']);
    assert.equal(deleted.code, 0, deleted.stderr);
    await gateway.waitForLog(/API keys refreshed: 0 new, 1 removed/);
    await proxy.waitForLog(/GATEWAY \S+ REFUSES THE API KEY \(HTTP 401: invalid key\): keeping \d+ data points, retrying in 1s/);
    await until('3 refused attempts', async () => (await scrapeCounter(proxy.statPort, 'polymur_send_failures_total')) >= 3, 15_000);
    const revoked = sink.lines.length;
    await until('5 refused attempts', async () => (await scrapeCounter(proxy.statPort, 'polymur_send_failures_total')) >= 5, 15_000);
    assert.equal(sink.lines.length, revoked, 'nothing passes with the key revoked');
    assert.ok(revoked < points);
    // ... and restores it from a backup (replaced atomically, as an editor or a config tool would).
    writeFileSync(`${keys.path}.new`, JSON.stringify({ site1: KEY }));
    renameSync(`${keys.path}.new`, keys.path);
    await gateway.waitForLog(/API keys refreshed: 1 new, 0 removed/);
    await sending;
    await until('every point at the sink', () => delivery(sink.lines, 1, points).missing === 0, 30_000);
    const d = delivery(sink.lines, 1, points);
    const refused = await scrapeCounter(proxy.statPort, 'polymur_send_failures_total');
    process.stdout.write(`# revoked key: sent ${d.sent}, arrived ${d.arrived}, missing ${d.missing}, duplicated ${d.duplicated}; ${refused} attempts refused with 401\n`);
    assert.equal(d.missing, 0);
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.close();
  }
});

test('413: a batch the gateway refuses as too large goes to -dead-letter with the reason, once, and delivery goes on', async () => {
  const sink = await startTcpSink();
  const gateway = await startGateway({ args: ['-dev-mode', '-destinations', sink.address, '-max-batch-bytes', '4000'] });
  const deadLetter = join(mkdtempSync(join(tmpdir(), 'polymur-dead-')), 'dead.log');
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, args: [...FAST_RETRY, '-dead-letter', deadLetter] });
  try {
    const big = Array.from({ length: 200 }, (_, i) => `dead.letter.m${i} ${i} 1700000000\n`).join('');
    const client = connect(proxy.port, '127.0.0.1');
    await once(client, 'connect');
    client.write(big);
    await proxy.waitForLog(/Batch of 200 data points rejected by the gateway \(HTTP 413: Batch Too Large\); written to /);
    client.end('after.dead.letter 1 1700000000\n');
    await sink.waitForLines(1);
    assert.deepEqual(sink.lines, ['after.dead.letter 1 1700000000']);
    const text = readFileSync(deadLetter, 'utf8');
    const [head, ...rest] = text.split('\n');
    assert.match(head!, /^# \d{4}-\d\d-\d\dT\S+ rejected by the gateway \(HTTP 413: Batch Too Large\): 200 data points$/);
    assert.equal(rest.join('\n'), big);
    assert.equal(await scrapeCounter(proxy.statPort, 'polymur_dead_letter_points_total'), 200);
    assert.equal(await scrapeCounter(proxy.statPort, 'polymur_send_failures_total'), 0, 'not retried');
    process.stdout.write(`# dead letter: 200 points rejected with 413 -> dead-letter file (${text.length} B), 1 point after it delivered\n`);
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.close();
  }
});

/** Lines whose value is pointId(0, seq), for seq in [from, to). */
function lines(from: number, to: number): Buffer {
  let text = '';
  for (let s = from; s < to; s++) text += `bp.m${s % 100} ${pointId(0, s)} 1700000000\n`;
  return Buffer.from(text);
}

/** A sink, a gateway to it that is not up yet (later.start()), and a proxy pointed at that gateway. */
async function proxyWithGatewayDown(proxyArgs: string[]): Promise<{ sink: TcpSink; later: GatewayLater; proxy: ListenerProcess }> {
  const sink = await startTcpSink();
  const later = await gatewayLater({ args: ['-dev-mode', '-destinations', sink.address] });
  const proxy = await startProxy({ gateway: later.url, cert: later.cert, args: [...FAST_RETRY, ...proxyArgs] });
  return { sink, later, proxy };
}

test('-when-full block: with the gateway down the proxy stops reading, the sender stalls, and everything arrives after', async () => {
  // A small queue; an idle timeout shorter than the stall, which must not cut a paused client.
  const { sink, later, proxy } = await proxyWithGatewayDown(['-queue-cap', '4', '-queue-max-bytes', '262144', '-batch-size', '1000', '-idle-timeout', '2s']);
  let gateway: GatewayProcess | undefined;
  let client: Socket | undefined;
  try {
    client = connect(proxy.port, '127.0.0.1');
    client.on('error', () => {});
    await once(client, 'connect');
    // Write 1,000 lines at a time until write() says the buffers are full and no 'drain' comes
    // for 3 s; bounded at 2 million points.
    let sent = 0;
    let stalled = false;
    while (sent < 2_000_000 && !stalled) {
      if (client.write(lines(sent, sent + 1000))) {
        sent += 1000;
        continue;
      }
      sent += 1000;
      const drained = once(client, 'drain').then(() => true);
      stalled = !(await Promise.race([drained, new Promise<boolean>((r) => setTimeout(() => r(false), 3000))]));
    }
    assert.ok(stalled, `the sender stalled (wrote ${sent} points)`);
    const read = await scrapeCounter(proxy.statPort, 'polymur_points_received_total');
    assert.ok(read < sent, `the proxy read ${read} of ${sent} points, and stopped`);
    assert.ok(!client.destroyed, 'the paused client was not cut by -idle-timeout');
    const rss = peakRssMb(proxy.proc.pid!);
    gateway = await later.start();
    await once(client, 'drain');
    client.end();
    await until('every point at the sink', () => delivery(sink.lines, 1, sent).missing === 0, 60_000);
    const d = delivery(sink.lines, 1, sent);
    process.stdout.write(
      `# when-full block: sender stalled after ${sent} points with the proxy holding ${read} read; after the gateway came back sent ${d.sent}, arrived ${d.arrived}, missing ${d.missing}, duplicated ${d.duplicated}; proxy peak RSS ${rss} MB while blocked\n`,
    );
    assert.equal(d.missing, 0);
    assert.ok(rss < 150, `proxy peak RSS ${rss} MB while blocked`);
  } finally {
    client?.destroy();
    await proxy.stop();
    await gateway?.stop();
    await sink.close();
  }
});

test('-when-full drop: with the gateway down the proxy keeps reading, drops, counts and logs; arrived + dropped = sent', async () => {
  const { sink, later, proxy } = await proxyWithGatewayDown(['-queue-cap', '4', '-batch-size', '500', '-when-full', 'drop']);
  let gateway: GatewayProcess | undefined;
  try {
    const points = 50_000;
    await sendLoad({ port: proxy.port, connections: 1, points });
    await until('the proxy read every point', async () => (await scrapeCounter(proxy.statPort, 'polymur_points_received_total')) >= points, 30_000);
    await proxy.waitForLog(/Queue full \(-when-full drop\): dropped a batch of \d+ data points/);
    let dropped = await scrapeCounter(proxy.statPort, 'polymur_points_dropped_total');
    assert.ok(dropped > 0 && dropped < points, `${dropped} dropped`);
    gateway = await later.start();
    // The count read again each time: a batch formed after the first reading may still have met a full queue.
    await until(
      'the queued rest at the sink',
      async () => delivery(sink.lines, 1, points).distinct + (dropped = await scrapeCounter(proxy.statPort, 'polymur_points_dropped_total')) === points,
      30_000,
    );
    const d = delivery(sink.lines, 1, points);
    process.stdout.write(`# when-full drop: sent ${points}, dropped and counted ${dropped}, arrived ${d.distinct} (duplicated ${d.duplicated}); nothing unaccounted\n`);
    assert.equal(d.distinct + dropped, points);
  } finally {
    await proxy.stop();
    await gateway?.stop();
    await sink.close();
  }
});

test('503 + Retry-After from a gateway whose destination is down: the proxy waits at least Retry-After (above -max-retry-delay) and delivers everything later', async () => {
  const sinkPort = await freePort();
  const gateway = await startGateway({ args: ['-dev-mode', '-destinations', `127.0.0.1:${sinkPort}`, '-outgoing-queue-cap', '1000'] });
  const proxy = await startProxy({
    gateway: gateway.url,
    cert: gateway.cert,
    args: ['-timeout', '2s', '-max-retry-delay', '200ms', '-flush-interval', '100ms', '-batch-size', '500'],
  });
  let sink: TcpSink | undefined;
  try {
    const points = 20_000;
    const sending = sendLoad({ port: proxy.port, connections: 1, points, ratePerSecond: 10_000 });
    const waits: number[] = [];
    for (let i = 0; i < 3; i++) {
      const m = await proxy.waitForLog(new RegExp(`failed \\(HTTP 503: Destination queues full, retry later\\); retry ${i + 1} in (\\d+\\.\\d+)s`), 20_000);
      waits.push(Number(m[1]));
    }
    assert.ok(
      waits.every((w) => w >= 1),
      `waits ${waits.join(', ')} s honour Retry-After: 1`,
    );
    sink = await startTcpSink(sinkPort);
    await sending;
    const current = sink;
    await until('every point at the sink', () => delivery(current.lines, 1, points).missing === 0, 60_000);
    const d = delivery(current.lines, 1, points);
    process.stdout.write(
      `# 503 + Retry-After: first waits ${waits.join(', ')} s (cap 0.2 s); sent ${d.sent}, arrived ${d.arrived}, missing ${d.missing}, duplicated ${d.duplicated}\n`,
    );
    assert.equal(d.missing, 0);
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink?.close();
  }
});
