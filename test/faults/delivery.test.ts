// Fault injection with real processes on 127.0.0.1: each scenario streams a known set of points,
// breaks something, and checks at the end that every point arrived (duplicates from retries are
// allowed, counted and reported). Scenario 2, the 60 s outage, is in gateway-outage.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendLoad } from '../../harness/load-generator.js';
import { startCarbon } from '../helpers/carbon.js';
import { makeCert } from '../../harness/certs.js';
import { startFreezeProxy } from '../helpers/freeze-proxy.js';
import { CONNECTIONS, FAST_RETRY, report, spoolDir } from '../helpers/delivery-faults.js';
import { delivery, peakRssMb, scrapeCounter, until } from '../helpers/points.js';
import { gatewayLater } from '../helpers/gateway-later.js';
import { startGateway, startProxy, type GatewayProcess } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

/** Starts a gateway again on the same port with the same certificate. */
function restartGateway(old: GatewayProcess & { cert: ReturnType<typeof makeCert> }, args: string[]) {
  return startGateway({ cert: old.cert, args: [...args, '-listen-https-port', String(old.port)] });
}

test('1. the gateway is killed with SIGKILL and restarted during a stream', async () => {
  const sink = await startTcpSink();
  const gwArgs = ['-dev-mode', '-destinations', sink.address];
  let gateway = await startGateway({ args: gwArgs });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, args: FAST_RETRY });
  try {
    const points = 100_000;
    const sending = sendLoad({ port: proxy.port, connections: CONNECTIONS, points, ratePerSecond: 25_000 });
    await sink.waitForLines(10_000);
    await gateway.stop('SIGKILL');
    gateway = await restartGateway(gateway, gwArgs);
    await sending;
    try {
      await until('every point at the sink', () => delivery(sink.lines, CONNECTIONS, points).missing === 0, 60_000);
    } catch (err) {
      // Say whether the missing points still wait in the proxy or are gone.
      const d = delivery(sink.lines, CONNECTIONS, points);
      const queued = await scrapeCounter(proxy.statPort, 'polymur_queue_points');
      throw new Error(`${(err as Error).message}: sent ${d.sent}, arrived ${d.arrived}, missing ${d.missing}; the proxy still holds ${queued}`);
    }
    const d = delivery(sink.lines, CONNECTIONS, points);
    report('scenario 1 (gateway SIGKILL + restart)', d, { proxy: peakRssMb(proxy.proc.pid!), gateway: peakRssMb(gateway.proc.pid!) });
    assert.equal(d.missing, 0);
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.close();
  }
});

test('3. a spooling proxy is killed with SIGKILL while the gateway is down; after restarts every counted point arrives', async () => {
  const sink = await startTcpSink();
  const later = await gatewayLater({ args: ['-dev-mode', '-destinations', sink.address] });
  let gateway: GatewayProcess | undefined;
  const proxyArgs = [...FAST_RETRY, '-spool-dir', spoolDir()];
  let proxy = await startProxy({ gateway: later.url, cert: later.cert, args: proxyArgs });
  try {
    const points = 50_000;
    await sendLoad({ port: proxy.port, connections: CONNECTIONS, points });
    await until('the proxy counted every point', async () => (await scrapeCounter(proxy.statPort, 'polymur_points_received_total')) >= points);
    await proxy.stop('SIGKILL');
    proxy = await startProxy({ gateway: later.url, cert: later.cert, args: proxyArgs });
    gateway = await later.start();
    await until('every point at the sink', () => delivery(sink.lines, CONNECTIONS, points).missing === 0, 60_000);
    const d = delivery(sink.lines, CONNECTIONS, points);
    report('scenario 3 (proxy SIGKILL with spool, gateway down)', d, { proxy: peakRssMb(proxy.proc.pid!), gateway: peakRssMb(gateway.proc.pid!) });
    assert.equal(d.missing, 0);
  } finally {
    await proxy.stop();
    await gateway?.stop();
    await sink.close();
  }
});

test('4. a carbon-cache destination is stopped and restarted during a stream', async () => {
  const carbon = await startCarbon();
  const gateway = await startGateway({ args: ['-dev-mode', '-destinations', carbon.address, '-outgoing-queue-cap', '100000'] });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, args: FAST_RETRY });
  try {
    // 20 metrics x 30 distinct timestamps: 600 points, each a whisper slot of its own.
    const now = Math.floor(Date.now() / 1000);
    const lines: string[] = [];
    for (let t = 0; t < 30; t++) for (let m = 0; m < 20; m++) lines.push(`faults.carbon.m${m} ${t * 100 + m} ${now - 60 + t}\n`);
    const { connect } = await import('node:net');
    const socket = connect(proxy.port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    for (let t = 0; t < 30; t++) {
      socket.write(lines.slice(t * 20, t * 20 + 20).join(''));
      if (t === 10) {
        await carbon.waitForMetric('faults.carbon.m0', 30_000);
        await carbon.stop();
      }
      if (t === 20) await carbon.start();
    }
    socket.end();
    let arrived = 0;
    await until(
      'every point in the whisper files',
      async () => {
        arrived = 0;
        for (let m = 0; m < 20; m++) {
          const series = await carbon.fetch(`faults.carbon.m${m}`).catch(() => []);
          arrived += series.filter(([, v]) => v !== null).length;
        }
        return arrived === 600;
      },
      90_000,
    );
    process.stdout.write(`# scenario 4 (carbon-cache stopped + restarted): sent 600, in whisper ${arrived}; peak RSS gateway ${peakRssMb(gateway.proc.pid!)} MB\n`);
    for (let m = 0; m < 20; m++) {
      const series = (await carbon.fetch(`faults.carbon.m${m}`)).filter(([, v]) => v !== null);
      assert.deepEqual(
        series,
        Array.from({ length: 30 }, (_, t) => [now - 60 + t, t * 100 + m]),
      );
    }
  } finally {
    await proxy.stop();
    await gateway.stop();
    await carbon.stop();
  }
});

test('5. the network between proxy and gateway freezes: requests time out, data is retried, nothing is lost', async () => {
  const sink = await startTcpSink();
  const gateway = await startGateway({ args: ['-dev-mode', '-destinations', sink.address] });
  const link = await startFreezeProxy(gateway.port);
  const proxy = await startProxy({ gateway: `https://localhost:${link.port}`, cert: gateway.cert, args: FAST_RETRY });
  try {
    const points = 60_000;
    const sending = sendLoad({ port: proxy.port, connections: CONNECTIONS, points, ratePerSecond: 20_000 });
    await sink.waitForLines(5_000);
    link.freeze();
    const before = sink.lines.length;
    await until('a request timed out', async () => (await scrapeCounter(proxy.statPort, 'polymur_send_failures_total')) > 0, 30_000);
    assert.ok(sink.lines.length - before < points, 'the freeze held data back');
    link.thaw();
    await sending;
    await until('every point at the sink', () => delivery(sink.lines, CONNECTIONS, points).missing === 0, 60_000);
    const d = delivery(sink.lines, CONNECTIONS, points);
    report('scenario 5 (network freeze)', d, { proxy: peakRssMb(proxy.proc.pid!), gateway: peakRssMb(gateway.proc.pid!) });
    assert.equal(d.missing, 0);
  } finally {
    await proxy.stop();
    await link.close();
    await gateway.stop();
    await sink.close();
  }
});

test('6. two gateways, one is killed: the proxy fails over and nothing is lost', async () => {
  const sink = await startTcpSink();
  const first = await startGateway({ args: ['-dev-mode', '-destinations', sink.address] });
  const second = await startGateway({ cert: first.cert, args: ['-dev-mode', '-destinations', sink.address] });
  const proxy = await startProxy({ gateway: `${first.url},${second.url}`, cert: first.cert, args: FAST_RETRY });
  try {
    const points = 100_000;
    const sending = sendLoad({ port: proxy.port, connections: CONNECTIONS, points, ratePerSecond: 25_000 });
    await sink.waitForLines(10_000);
    await first.stop('SIGKILL');
    await sending;
    await until('every point at the sink', () => delivery(sink.lines, CONNECTIONS, points).missing === 0, 60_000);
    const d = delivery(sink.lines, CONNECTIONS, points);
    report('scenario 6 (two gateways, one killed)', d, { proxy: peakRssMb(proxy.proc.pid!), gateway: peakRssMb(second.proc.pid!) });
    assert.equal(d.missing, 0);
  } finally {
    await proxy.stop();
    await second.stop();
    await sink.close();
  }
});
