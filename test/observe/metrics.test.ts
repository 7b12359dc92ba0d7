// -stat-addr: the Prometheus /metrics of the real relay and gateway, parsed by a real parser, whose
// counters equal exactly what the test sent and what the destinations received; and the original's
// `stats` command on the same port, its start time and uptime those of this relay. (/healthz, which
// reports a measured event loop lag, is health.test.ts's.)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { openGraphiteStream } from '../helpers/graphite-stream.js';
import { post } from '../helpers/https-post.js';
import { until } from '../helpers/points.js';
import type { RunningProgram } from '../../harness/programs.js';
import { scrape } from '../helpers/prometheus.js';
import { startGateway, startProxy, startRelay, writeKeyFile, type ListenerProcess, type RelayProcess } from '../../harness/system.js';
import { textCommand } from '../helpers/text-command.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

const lines = (prefix: string, n: number): string[] => Array.from({ length: n }, (_, i) => `${prefix}.m${i} ${i} 1700000000`);
interface Stats {
  service: { 'start-time': string; 'uptime-seconds': number };
  'runtime-meminfo': Record<string, number>;
}
const bytesOf = (received: readonly string[]): number => received.reduce((n, l) => n + Buffer.byteLength(l) + 1, 0);

test('relay /metrics: received, invalid by reason, forwarded and per-destination figures match what was sent; stats', async () => {
  const testStart = Date.now();
  const sinks: TcpSink[] = [];
  let relay: ListenerProcess | undefined;
  try {
    for (let i = 0; i < 2; i++) sinks.push(await startTcpSink());
    const [a, b] = sinks.map((s, i) => `${s.address}:${'ab'[i]}`) as [string, string];
    relay = await startRelay(['-destinations', `${a},${b}`, '-distribution', 'hash-route', '-outgoing-queue-cap', '5000', '-flush-interval', '50ms']);
    const stream = await openGraphiteStream(relay.port);
    const invalid = ['only.a.name', 'bad.value NaN 1700000000', 'bad.value abc 1700000000', 'bad.time 1 soon'];
    await stream.send([...lines('metrics.relay', 600), ...invalid, ...lines('metrics.more', 400)]);
    await stream.close();
    await until('1000 points at the sinks', () => sinks[0]!.lines.length + sinks[1]!.lines.length >= 1000, 15_000);
    assert.ok(
      sinks.every((s) => s.lines.length > 0),
      'hash-route used both destinations',
    );

    const port = relay.statPort;
    await until('written counted', async () => (await scrape(port)).value('polymur_points_written_total') === 1000, 5000);
    const m = await scrape(port);
    assert.equal(m.value('polymur_points_received_total'), 1000);
    assert.equal(m.value('polymur_points_invalid_total'), 4);
    assert.equal(m.value('polymur_points_invalid_total', { reason: 'fields' }), 1);
    assert.equal(m.value('polymur_points_invalid_total', { reason: 'value' }), 2);
    assert.equal(m.value('polymur_points_invalid_total', { reason: 'timestamp' }), 1);
    assert.equal(m.value('polymur_points_forwarded_total'), 1000);
    sinks.forEach((sink, i) => {
      const destination = [a, b][i]!;
      assert.equal(m.value('polymur_points_written_total', { destination }), sink.lines.length, `${destination} points`);
      assert.equal(m.value('polymur_bytes_written_total', { destination }), bytesOf(sink.lines), `${destination} bytes`);
      assert.ok(m.value('polymur_batches_written_total', { destination }) >= 1);
      assert.equal(m.value('polymur_destination_up', { destination }), 1);
      assert.equal(m.value('polymur_queue_points', { destination }), 0);
      assert.equal(m.value('polymur_queue_capacity_points', { destination }), 5000);
    });
    assert.equal(m.value('polymur_destination_reconnects_total'), 0);
    assert.equal(m.value('polymur_connections_total'), 1);
    assert.equal(m.families.get('polymur_points_received_total')!.type, 'COUNTER');
    assert.ok(m.value('process_resident_memory_bytes') > 0);

    const statsNow = async (): Promise<Stats> => JSON.parse(await textCommand(port, 'stats')) as Stats;
    // Started during this test (the start time is printed to the second) and up since: the uptime
    // counts on, and never past the time since this test began.
    const started = Date.parse((await statsNow()).service['start-time']);
    assert.ok(started >= Math.floor(testStart / 1000) * 1000 && started <= Date.now(), `start-time ${new Date(started).toISOString()}`);
    let stats = await statsNow();
    await until('an uptime of a second', async () => (stats = await statsNow()).service['uptime-seconds'] >= 1, 5000);
    assert.ok(stats.service['uptime-seconds'] <= (Date.now() - testStart) / 1000, `uptime ${stats.service['uptime-seconds']} s`);
    assert.ok((stats['runtime-meminfo'].HeapAlloc ?? 0) > 0);
    assert.equal(await textCommand(port, 'bogus'), 'Not a command: bogus\n');
  } finally {
    await relay?.stop();
    for (const s of sinks) await s.close();
  }
});

test('gateway /metrics: points, batches and auth failures per key name match what the proxies and a raw client sent', async () => {
  const K1 = 'metrics-key-one-0123456789abcdef';
  const K2 = 'metrics-key-two-0123456789abcdef';
  const sink = await startTcpSink();
  const programs: RunningProgram[] = [];
  try {
    const gateway = await startGateway({ keyFile: writeKeyFile({ site1: K1, site2: K2 }), args: ['-destinations', sink.address] });
    programs.push(gateway);
    const proxy1 = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: K1, args: ['-flush-interval', '100ms', '-batch-size', '100'] });
    programs.push(proxy1);
    const proxy2 = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: K2, args: ['-flush-interval', '100ms'] });
    programs.push(proxy2);
    for (const [proxy, text] of [
      [proxy1, lines('site1', 500)],
      [proxy2, lines('site2', 300)],
    ] as const) {
      const stream = await openGraphiteStream(proxy.port);
      await stream.send(text);
      await stream.close();
    }
    const raw = await post(gateway.port, '/ingest', { 'X-Polymur-Key': K1 }, gzipSync('raw.a 1 1700000000\nbad line\nraw.b 2 1700000000\n'), gateway.cert.cert);
    assert.equal(raw.status, 200);
    const wrong = await post(gateway.port, '/ingest', { 'X-Polymur-Key': 'not-a-key' }, gzipSync('raw.c 3 1700000000\n'), gateway.cert.cert);
    assert.equal(wrong.status, 401);
    await sink.waitForLines(802, 20_000);
    await until('written counted', async () => (await scrape(gateway.statPort)).value('polymur_points_written_total') === 802, 5000);

    const [g, p1, p2] = await Promise.all([scrape(gateway.statPort), scrape(proxy1.statPort), scrape(proxy2.statPort)]);
    assert.equal(g.value('polymur_points_received_total', { key: 'site1' }), 502);
    assert.equal(g.value('polymur_points_received_total', { key: 'site2' }), 300);
    const sent1 = p1.value('polymur_batches_written_total');
    const sent2 = p2.value('polymur_batches_written_total');
    assert.ok(sent1 >= 5, 'proxy 1 sent batches of at most 100 points');
    assert.equal(g.value('polymur_batches_received_total', { key: 'site1' }), sent1 + 1);
    assert.equal(g.value('polymur_batches_received_total', { key: 'site2' }), sent2);
    assert.equal(p1.value('polymur_points_written_total'), 500);
    assert.equal(g.value('polymur_auth_failures_total'), 1);
    assert.equal(g.value('polymur_points_invalid_total', { reason: 'fields' }), 1);
    assert.equal(g.value('polymur_points_forwarded_total'), 802);
    assert.equal(g.value('polymur_points_written_total', { destination: sink.address }), 802);
    assert.equal(g.value('polymur_bytes_written_total', { destination: sink.address }), bytesOf(sink.lines));
    const [duration] = g.samples('polymur_request_duration_seconds');
    assert.equal(Number(duration!.count), sent1 + sent2 + 1, 'one latency observation per accepted batch');
    assert.equal(g.families.get('polymur_request_duration_seconds')!.type, 'HISTOGRAM');
  } finally {
    for (const p of programs.reverse()) await p.stop();
    await sink.close();
  }
});

test('a destination that closes while idle shows as down in /metrics and getdest without waiting for traffic', async () => {
  const sink = await startTcpSink();
  let relay: RelayProcess | undefined;
  try {
    relay = await startRelay(['-destinations', sink.address]);
    const up = async (): Promise<number> => (await scrape(relay!.statPort)).value('polymur_destination_up', { destination: sink.address });
    await until('connected', async () => (await up()) === 1, 10_000);
    await sink.close();
    await until('shown as down', async () => (await up()) === 0, 10_000);
    const listed = (await (await fetch(`http://127.0.0.1:${relay.apiPort}/destinations`)).json()) as { active: string[] };
    assert.deepEqual(listed.active, []);
  } finally {
    await relay?.stop();
    await sink.close();
  }
});
