// Scenario 2 of the delivery faults (the others are in delivery.test.ts): the gateway unreachable
// for 60 s while a spooling proxy receives 10,000 points a second, then every point arrives. Its
// own file because it mostly waits on the wall clock: test/run.mjs starts it beside the paired
// files instead of alone (what it checks, delivery and the proxy's peak RSS, needs no spare core).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendLoad } from '../../harness/load-generator.js';
import { CONNECTIONS, FAST_RETRY, report, spoolDir } from '../helpers/delivery-faults.js';
import { gatewayLater } from '../helpers/gateway-later.js';
import { delivery, peakRssMb, scrapeCounter, until } from '../helpers/points.js';
import { type GatewayProcess, startProxy } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

test('2. the gateway is unreachable for 60 s while a spooling proxy keeps receiving', async () => {
  const sink = await startTcpSink();
  const later = await gatewayLater({ args: ['-dev-mode', '-destinations', sink.address] });
  let gateway: GatewayProcess | undefined;
  const proxy = await startProxy({ gateway: later.url, cert: later.cert, args: [...FAST_RETRY, '-spool-dir', spoolDir()] });
  try {
    const points = 600_000;
    const outageStarted = Date.now();
    // 10,000 points per second for 60 s while nothing answers.
    await sendLoad({ port: proxy.port, connections: CONNECTIONS, points, ratePerSecond: 10_000 });
    await until('the proxy counted every point', async () => (await scrapeCounter(proxy.statPort, 'polymur_points_received_total')) >= points);
    assert.ok(Date.now() - outageStarted >= 59_000, 'the outage lasted 60 s');
    assert.equal(sink.lines.length, 0);
    gateway = await later.start();
    await until('every point at the sink', () => delivery(sink.lines, CONNECTIONS, points).missing === 0, 120_000);
    const d = delivery(sink.lines, CONNECTIONS, points);
    const rss = peakRssMb(proxy.proc.pid!);
    report('scenario 2 (gateway unreachable 60 s, proxy spooling)', d, { proxy: rss, gateway: peakRssMb(gateway.proc.pid!) });
    assert.equal(d.missing, 0);
    assert.ok(rss < 200, `proxy peak RSS ${rss} MB stays below 200 MB`);
  } finally {
    await proxy.stop();
    await gateway?.stop();
    await sink.close();
  }
});
