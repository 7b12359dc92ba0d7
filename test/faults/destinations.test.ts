// Destinations that fail while a stream runs, with real programs on 127.0.0.1: one that accepts
// the connection and never reads (a stuck carbon: its TCP window full), and one killed while
// points sit in its socket buffers. Each scenario prints points sent, arrived, missing and
// duplicated per destination.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sendLoad } from '../../harness/load-generator.js';
import { freePort, startCarbons } from '../helpers/carbon.js';
import { openGraphiteStream } from '../helpers/graphite-stream.js';
import { post } from '../helpers/https-post.js';
import { delivery, peakRssMb, scrapeCounter, until, type Delivery } from '../helpers/points.js';
import { scrape } from '../helpers/prometheus.js';
import { startGateway, startProxy, startRelay, type RelayProcess } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

const CONNECTIONS = 2;
const WRITE_TIMEOUT = ['-write-timeout', '1s'];

function report(name: string, parts: Record<string, Delivery>, extra = ''): void {
  const text = Object.entries(parts)
    .map(([who, d]) => `${who}: sent ${d.sent}, arrived ${d.arrived}, distinct ${d.distinct}, missing ${d.missing}, duplicated ${d.duplicated}`)
    .join('; ');
  process.stdout.write(`# ${name}: ${text}${extra ? `; ${extra}` : ''}\n`);
}

function spoolDir(): string {
  return mkdtempSync(join(tmpdir(), 'polymur-spool-'));
}

const seconds = (since: number): number => Math.round((Date.now() - since) / 100) / 10;

/** A sink that accepts connections and never reads them. */
async function startStuckSink(): Promise<TcpSink> {
  const sink = await startTcpSink();
  sink.pause();
  return sink;
}

async function broadcastWithStuck(args: string[]): Promise<{ relay: RelayProcess; healthy: TcpSink; stuck: TcpSink; close: () => Promise<void> }> {
  const healthy = await startTcpSink();
  const stuck = await startStuckSink();
  // A short -shutdown-timeout: the stuck destination never drains, stopping the relay should not wait 10 s for it.
  const relay = await startRelay(['-destinations', `${healthy.address},${stuck.address}`, '-flush-interval', '50ms', '-shutdown-timeout', '2s', ...WRITE_TIMEOUT, ...args]);
  return {
    relay,
    healthy,
    stuck,
    async close() {
      await relay.stop();
      await healthy.close();
      await stuck.close();
    },
  };
}

/** 200,000 points at 50,000/s through the relay; the seconds until all of them were at `healthy`. */
async function streamToHealthy(port: number, healthy: TcpSink): Promise<{ points: number; rate: number; healthyTime: number }> {
  const points = 200_000;
  const rate = 50_000;
  const started = Date.now();
  await sendLoad({ port, connections: CONNECTIONS, points, ratePerSecond: rate });
  await until('every point at the healthy destination', () => delivery(healthy.lines, CONNECTIONS, points).missing === 0, 30_000);
  return { points, rate, healthyTime: seconds(started) };
}

test('broadcast with -spool-dir: a destination that stops reading is marked down within the write timeout, the healthy one keeps its full rate, the stuck one gets everything once it reads again', async () => {
  const { relay, healthy, stuck, close } = await broadcastWithStuck(['-spool-dir', spoolDir()]);
  try {
    const { points, rate, healthyTime } = await streamToHealthy(relay.port, healthy);
    const timeouts = (await scrape(relay.statPort)).value('polymur_destination_write_timeouts_total', { destination: stuck.address });
    assert.ok(timeouts >= 1, 'the stuck destination was detected');
    await relay.waitForLog(/is down: write timeout: \S+ accepted no byte for 1\.\ds/);
    // The stream lasted points / rate seconds; the healthy destination was not held back.
    assert.ok(healthyTime < points / rate + 3, `the healthy destination had every point after ${healthyTime} s (stream: ${points / rate} s)`);

    stuck.resume();
    await until('every point at the once stuck destination', () => delivery(stuck.lines, CONNECTIONS, points).missing === 0, 60_000);
    const resent = await scrapeCounter(relay.statPort, 'polymur_destination_resent_points_total');
    report(
      'stuck destination, broadcast, spool',
      { healthy: delivery(healthy.lines, CONNECTIONS, points), stuck: delivery(stuck.lines, CONNECTIONS, points) },
      `healthy complete after ${healthyTime} s of a ${points / rate} s stream; ${timeouts} write timeouts; ${resent} points resent; relay peak RSS ${peakRssMb(relay.proc.pid!)} MB`,
    );
    assert.equal(delivery(healthy.lines, CONNECTIONS, points).duplicated, 0);
  } finally {
    await close();
  }
});

test("broadcast without spool, -when-full drop: the stuck destination's copies are dropped and counted, the healthy one gets every point at full rate", async () => {
  const { relay, healthy, stuck, close } = await broadcastWithStuck(['-when-full', 'drop']);
  try {
    const { points, rate, healthyTime } = await streamToHealthy(relay.port, healthy);
    const m = await scrape(relay.statPort);
    const dropped = m.value('polymur_points_dropped_total', { reason: 'queue_full', destination: stuck.address });
    const queued = m.value('polymur_queue_points', { destination: stuck.address });
    assert.ok(dropped > 0, "the stuck destination's copies were dropped");
    assert.ok(healthyTime < points / rate + 3, `the healthy destination had every point after ${healthyTime} s`);
    report(
      'stuck destination, broadcast, drop',
      { healthy: delivery(healthy.lines, CONNECTIONS, points) },
      `stuck: ${dropped} dropped (counted), ${queued} queued; healthy complete after ${healthyTime} s of a ${points / rate} s stream`,
    );
    assert.equal(m.value('polymur_points_dropped_total', { destination: healthy.address }), 0);
  } finally {
    await close();
  }
});

/** A sink that reads its first `lines` lines, then stops reading (a carbon that hangs): by then its receive buffer has grown. */
async function startSinkThatStops(lines: number, host: string): Promise<TcpSink> {
  let n = 0;
  const sink: TcpSink = await startTcpSink(0, host, () => {
    if (++n === lines) sink.pause();
  });
  return sink;
}

/**
 * Hash-route over a, b and a destination c that reads 20,000 lines, then stops reading:
 * `points` at `rate`/s through the relay. c takes its share into its socket buffers (ours and its
 * own, grown while it read: about 5 MB here) until they are full, is dropped after the write
 * timeout, and everything it may not have read goes to a and b; it reconnects later, rejoins and
 * fills its buffers again (each time handed over again). A point counts as delivered on any of
 * a, b, c (c keeps what it read). With -replication-factor 2 each point belongs on two nodes:
 * what c did not read on both a and b once c left, what c read on c and its other replica.
 */
async function hashRouteWithStuck(opts: {
  name: string;
  points: number;
  rate: number;
  args?: string[];
  replicas?: number;
  /** Points are expected to be missing: do not wait for them. */
  lossy?: boolean;
}): Promise<{ all: Delivery; a: Delivery; b: Delivery; onTwo: number; unread: number; uncovered: number; relay: RelayProcess }> {
  // Distinct hosts: carbon places each replica on another host.
  const [a, b] = [await startTcpSink(0, '127.0.0.1'), await startTcpSink(0, '127.0.0.2')];
  const stuck = await startSinkThatStops(20_000, '127.0.0.3');
  const destinations = [`${a.address}:a`, `${b.address}:b`, `${stuck.address}:c`];
  const replicas = opts.replicas ?? 1;
  const relay = await startRelay([
    '-destinations',
    destinations.join(','),
    '-distribution',
    'hash-route',
    '-replication-factor',
    String(replicas),
    '-flush-interval',
    '50ms',
    '-shutdown-timeout',
    '2s',
    ...WRITE_TIMEOUT,
    ...(opts.args ?? []),
  ]);
  try {
    const { points, rate } = opts;
    const sending = sendLoad({ port: relay.port, connections: CONNECTIONS, points, ratePerSecond: rate });
    await Promise.race([a.waitForLines(1), b.waitForLines(1)]);
    const started = Date.now();
    await relay.waitForLog(/Removing \S+:c from the hash ring after a write timeout/, 15_000);
    const leftAfter = seconds(started);
    // Detected 1 s after the socket took its last byte; before that the stuck peer's socket
    // buffers (about 4 MB here: our send buffer and its receive buffer) took a few seconds of its share.
    const stall = Number((await relay.waitForLog(/:c accepted no byte for (\d+\.\d)s/))[1]);
    assert.ok(stall >= 1 && stall < 2, `marked down after ${stall} s without progress (write timeout 1 s)`);
    assert.ok(leftAfter < 10, `left the ring ${leftAfter} s after the stream began`);
    await sending;
    const all = (): string[] => [...a.lines, ...b.lines, ...stuck.lines];
    const onBoth = (): number => {
      const onB = new Set(b.lines.map((l) => l.split(' ')[1]));
      return new Set(a.lines.map((l) => l.split(' ')[1]).filter((id) => onB.has(id))).size;
    };
    /** Points on two of a, b and c: c's copies that it did not read were handed over, those it read stay with it. */
    const onTwo = (): number => {
      const held = [a.lines, b.lines, stuck.lines].map((lines) => new Set(lines.map((l) => l.split(' ')[1])));
      let n = 0;
      for (const id of new Set(held.flatMap((ids) => [...ids]))) if (held.filter((ids) => ids.has(id)).length >= 2) n++;
      return n;
    };
    // Each point on a, b or c; with two replicas on two of them.
    const complete = (): boolean => delivery(all(), CONNECTIONS, points).missing === 0 && (replicas === 1 || onTwo() === points);
    // Everything queued written and everything handed over placed; then what is not there is lost (and reported).
    await until('the relay queues are empty', async () => (await scrapeCounter(relay.statPort, 'polymur_queue_points')) === 0, 30_000);
    if (!opts.lossy) await until('every point at the destinations', complete, 15_000).catch(() => undefined);
    const m = await scrape(relay.statPort);
    const unread = m.value('polymur_destination_unread_points_total', { destination: destinations[2]! });
    const uncovered = m.value('polymur_resend_window_uncovered_points_total', { destination: destinations[2]! });
    const rerouted = await scrapeCounter(relay.statPort, 'polymur_rerouted_points_total');
    const d = { all: delivery(all(), CONNECTIONS, points), a: delivery(a.lines, CONNECTIONS, points), b: delivery(b.lines, CONNECTIONS, points) };
    report(
      opts.name,
      { 'a+b+c': d.all, a: d.a, b: d.b, 'c (read before it stopped)': delivery(stuck.lines, CONNECTIONS, points) },
      `${replicas > 1 ? `on two nodes ${onTwo()}, on both a and b ${onBoth()}; ` : ''}left the ring ${leftAfter} s after the stream began; ${m.value('polymur_destination_write_timeouts_total', { destination: destinations[2]! })} write timeouts; ` +
        `${unread} points c may not have read sent again (${uncovered} let go of uncovered); ${rerouted} points handed to the others; ${seconds(started)} s after the start of a ${points / rate} s stream; relay peak RSS ${peakRssMb(relay.proc.pid!)} MB`,
    );
    assert.ok(rerouted > 0 && unread > 0, "c's unread share was handed over");
    return { ...d, onTwo: onTwo(), unread, uncovered, relay };
  } finally {
    await relay.stop();
    await Promise.all([a.close(), b.close(), stuck.close()]);
  }
}

test('hash-route: a destination that stops reading leaves the ring within the write timeout, every point it may not have read arrives at the others, which get no duplicates', async () => {
  const { all, a, b, uncovered } = await hashRouteWithStuck({ name: 'stuck destination, hash-route', points: 200_000, rate: 50_000 });
  assert.equal(all.missing, 0);
  assert.equal(uncovered, 0);
  assert.equal(a.duplicated + b.duplicated, 0);
});

test('hash-route, three times the load: the stuck destination stays out of the ring until it reads again, nothing is lost', async () => {
  const { all, a, b, uncovered } = await hashRouteWithStuck({ name: 'stuck destination, hash-route, 3x load', points: 600_000, rate: 100_000 });
  assert.equal(all.missing, 0);
  assert.equal(uncovered, 0);
  assert.equal(a.duplicated + b.duplicated, 0);
});

test('hash-route, -resend-window-bytes below what the stuck socket holds: a warning at start, and the points lost are no more than those counted as let go of uncovered', async () => {
  const { all, uncovered, relay } = await hashRouteWithStuck({
    name: 'stuck destination, hash-route, -resend-window-bytes 1 MiB',
    points: 200_000,
    rate: 50_000,
    args: ['-resend-window-bytes', String(1024 * 1024)],
    lossy: true,
  });
  assert.match(relay.stderr(), /Warning: -resend-window-bytes 1048576 is below the \d+ bytes a destination connection may hold unread/);
  assert.ok(all.missing > 0, 'the scenario puts more in the socket buffers than 1 MiB: points are lost');
  assert.ok(all.missing <= uncovered, `${all.missing} points lost, ${uncovered} counted as let go of uncovered`);
});

test('hash-route, -replication-factor 2: the share of a replica that stops reading and did not read reaches the other replicas, every point is on two nodes', async () => {
  const { all, onTwo } = await hashRouteWithStuck({ name: 'stuck destination, hash-route, 2 replicas', points: 200_000, rate: 50_000, replicas: 2 });
  assert.equal(all.missing, 0);
  assert.equal(onTwo, 200_000);
});
test('hash-route over real carbon-caches, one stopped with SIGSTOP: it leaves the ring after the write timeout, every point is stored on the others', async () => {
  const carbons = await startCarbons(['a', 'b', 'c']);
  const destinations = carbons.map((c, i) => `${c.address}:${'abc'[i]}`);
  let relay: RelayProcess | undefined;
  try {
    relay = await startRelay(['-destinations', destinations.join(','), '-distribution', 'hash-route', '-flush-interval', '50ms', '-shutdown-timeout', '2s', ...WRITE_TIMEOUT]);
    carbons[2]!.signal('SIGSTOP');
    // 30 metrics x 3,000 seconds, long names: enough bytes (17 MB) to fill the stopped carbon's socket buffers.
    const metrics = 30;
    const perMetric = 3_000;
    const prefix = `faults.sigstop.${'x'.repeat(70)}.${'y'.repeat(70)}`;
    const since = Math.floor(Date.now() / 1000) - perMetric - 60;
    const stream = await openGraphiteStream(relay.port);
    for (let t = 0; t < perMetric; t += 500) {
      const chunk: string[] = [];
      for (let s = t; s < t + 500; s++) for (let k = 0; k < metrics; k++) chunk.push(`${prefix}.m${k} ${s} ${since + s}`);
      await stream.send(chunk);
    }
    await stream.close();
    await relay.waitForLog(/Removing \S+:c from the hash ring after a write timeout/, 30_000);
    const names = Array.from({ length: metrics }, (_, k) => `${prefix}.m${k}`);
    /** Distinct (metric, timestamp) with the value sent, over a and b; read a few metrics per python call. */
    const storedOnAB = async (): Promise<number> => {
      let n = 0;
      for (let k = 0; k < metrics; k += 5) {
        const group = names.slice(k, k + 5);
        const [a, b] = await Promise.all(carbons.slice(0, 2).map((c) => c.fetchMany(group.filter((m) => c.storedMetrics().includes(m)))));
        for (const m of group) {
          const seen = new Set<number>();
          for (const [ts, v] of [...(a!.get(m) ?? []), ...(b!.get(m) ?? [])]) if (v === ts - since) seen.add(ts);
          n += seen.size;
        }
      }
      return n;
    };
    let stored = 0;
    await until('every point in the whisper files of a and b', async () => (stored = await storedOnAB()) === metrics * perMetric, 60_000);
    const timeouts = (await scrape(relay.statPort)).value('polymur_destination_write_timeouts_total', { destination: destinations[2]! });
    process.stdout.write(
      `# carbon-cache SIGSTOP, hash-route: sent ${metrics * perMetric}, stored on a and b ${stored} (distinct metric+timestamp); ${timeouts} write timeouts; ${await scrapeCounter(relay.statPort, 'polymur_rerouted_points_total')} points handed to the others\n`,
    );
    assert.ok(timeouts >= 1);
  } finally {
    carbons[2]!.signal('SIGCONT');
    await relay?.stop();
    await Promise.all(carbons.map((c) => c.stop()));
  }
});

/**
 * Streams through the relay to one sink, stops its reading so points pile up in the socket
 * buffers, then kills it (every unread byte gone) and starts a new one on the port.
 */
async function killWithDataInFlight(resendWindow: string): Promise<{ d: Delivery; resent: number }> {
  const first = await startTcpSink();
  const relay = await startRelay(['-destinations', first.address, '-flush-interval', '50ms', '-resend-window', resendWindow]);
  let second: TcpSink | undefined;
  try {
    const points = 200_000;
    const sending = sendLoad({ port: relay.port, connections: CONNECTIONS, points, ratePerSecond: 100_000 });
    await first.waitForLines(50_000);
    first.pause();
    const writtenBefore = await scrapeCounter(relay.statPort, 'polymur_points_written_total');
    // At least 10,000 points written into the socket that the sink will never read.
    await until('points pile up in the socket buffers', async () => (await scrapeCounter(relay.statPort, 'polymur_points_written_total')) - writtenBefore >= 10_000, 10_000);
    await first.close();
    second = await startTcpSink(first.port);
    await sending;
    await until('the relay queue is empty', async () => (await scrapeCounter(relay.statPort, 'polymur_queue_points')) === 0, 30_000);
    const all = (): string[] => [...first.lines, ...second!.lines];
    if (resendWindow !== '0') await until('every point at the sink', () => delivery(all(), CONNECTIONS, points).missing === 0, 15_000);
    return { d: delivery(all(), CONNECTIONS, points), resent: await scrapeCounter(relay.statPort, 'polymur_destination_resent_points_total') };
  } finally {
    await relay.stop();
    await first.close();
    await second?.close();
  }
}

test('a destination killed with data in its socket buffers: lost without the resend window, none lost with it (duplicates reported)', async () => {
  const without = await killWithDataInFlight('0');
  const withWindow = await killWithDataInFlight('1s');
  report('destination killed with data in flight', { 'no resend window': without.d, 'resend window 1s': withWindow.d }, `resent with the window: ${withWindow.resent} points`);
  assert.ok(without.d.missing > 0, 'points in the socket buffers are lost without the window (the scenario does put points at risk)');
  assert.equal(without.resent, 0);
  assert.equal(withWindow.d.missing, 0);
  assert.ok(withWindow.resent > 0);
});

test('gateway with -spool-dir, broadcast, one destination down: the healthy one gets the whole stream at full rate, the down one everything on return', async () => {
  const healthy = await startTcpSink();
  const downPort = await freePort();
  const gateway = await startGateway({ args: ['-dev-mode', '-destinations', `${healthy.address},127.0.0.1:${downPort}`, '-spool-dir', spoolDir(), ...WRITE_TIMEOUT] });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, args: ['-flush-interval', '100ms', '-max-retry-delay', '1s', '-verbose=false'] });
  let late: TcpSink | undefined;
  try {
    const points = 200_000;
    const rate = 40_000;
    const started = Date.now();
    await sendLoad({ port: proxy.port, connections: CONNECTIONS, points, ratePerSecond: rate });
    await until('every point at the healthy destination', () => delivery(healthy.lines, CONNECTIONS, points).missing === 0, 30_000);
    const healthyTime = seconds(started);
    const refused = await scrapeCounter(gateway.statPort, 'polymur_batches_refused_total');
    assert.ok(healthyTime < points / rate + 3, `the healthy destination had every point after ${healthyTime} s`);
    assert.equal(refused, 0, "no 503: the down destination's queue spools, -outgoing-queue-cap does not bound it");
    late = await startTcpSink(downPort);
    await until('every point at the returning destination', () => delivery(late!.lines, CONNECTIONS, points).missing === 0, 60_000);
    report(
      'gateway, spool, broadcast, one destination down',
      { healthy: delivery(healthy.lines, CONNECTIONS, points), returning: delivery(late.lines, CONNECTIONS, points) },
      `healthy complete after ${healthyTime} s of a ${points / rate} s stream; ${refused} batches answered 503; gateway peak RSS ${peakRssMb(gateway.proc.pid!)} MB`,
    );
  } finally {
    await proxy.stop();
    await gateway.stop();
    await healthy.close();
    await late?.close();
  }
});

test('gateway over a small per-destination spool: every 200 means its points arrive, every refusal is a 503 with Retry-After', async () => {
  const downPort = await freePort();
  const gateway = await startGateway({ args: ['-dev-mode', '-destinations', `127.0.0.1:${downPort}`, '-spool-dir', spoolDir(), '-spool-max-bytes', '2000'] });
  let sink: TcpSink | undefined;
  try {
    const accepted: string[] = [];
    const statuses: number[] = [];
    for (let r = 0; r < 20; r++) {
      const lines = Array.from({ length: 10 }, (_, i) => `spoolcap.r${r}.m${i} ${i} 1700000000`);
      const reply = await post(gateway.port, '/ingest', { 'x-polymur-key': '123' }, gzipSync(lines.map((l) => `${l}\n`).join('')), gateway.cert.cert);
      statuses.push(reply.status);
      if (reply.status === 200) accepted.push(...lines);
      else assert.ok(reply.status === 503 && reply.headers['retry-after'] !== undefined, `status ${reply.status}`);
    }
    const ok = statuses.filter((s) => s === 200).length;
    assert.ok(ok > 0 && ok < 20, `${ok} of 20 batches accepted by a 2000-byte spool`);
    sink = await startTcpSink(downPort);
    await sink.waitForLines(accepted.length, 15_000);
    await until('the spool is empty', async () => (await scrapeCounter(gateway.statPort, 'polymur_queue_points')) === 0, 10_000);
    process.stdout.write(
      `# gateway, 2000-byte spool, destination down: 20 batches of 10 points posted, ${ok} answered 200, ${20 - ok} answered 503; ${accepted.length} points accepted, ${sink.lines.length} arrived\n`,
    );
    assert.deepEqual([...sink.lines].sort(), [...accepted].sort());
  } finally {
    await gateway.stop();
    await sink?.close();
  }
});
