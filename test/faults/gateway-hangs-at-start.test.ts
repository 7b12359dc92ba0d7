// Start-up against a gateway that hangs from the first instant, with real processes: the gateway
// address is a real TCP server that accepts and never answers (a stuck peer: the TLS handshake and
// the first /ping never complete). The proxy opens its Graphite listener at once and queues what
// arrives while the ping waits in the background; a SIGTERM then ends it within -shutdown-timeout
// plus one second, counting what it could not deliver; and once a real gateway takes the address,
// everything queued arrives.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendLoad } from '../../harness/load-generator.js';
import { makeCert } from '../../harness/certs.js';
import { delivery, scrapeCounter, until } from '../helpers/points.js';
import { startGateway, startProxy, type GatewayProcess, type ListenerProcess } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

const POINTS = 10_000;

test('gateway hanging from the start: the listener opens at once, clients send at once, SIGTERM with -shutdown-timeout 2s ends within 3 s and counts what is queued', async () => {
  // Reads what it is sent and never answers.
  const stuck = await startTcpSink();
  const cert = makeCert();
  const started = Date.now();
  let proxy: ListenerProcess | undefined;
  try {
    // -timeout stays at its default of 30 s: the first ping hangs that long.
    proxy = await startProxy({ gateway: `https://localhost:${stuck.port}`, cert, args: ['-shutdown-timeout', '2s', '-flush-interval', '100ms', '-verbose=false'] });
    const listenerMs = Date.now() - started;
    const { statPort } = proxy;
    assert.match(proxy.stderr(), /Pinging gateway https:\/\/localhost:\d+/);
    assert.doesNotMatch(proxy.stderr(), /successful|unreachable/, 'the first ping is still waiting');
    assert.ok(listenerMs < 10_000, `the listener opened ${listenerMs} ms after the start, not after the ping's 30 s`);
    await sendLoad({ port: proxy.port, connections: 1, points: POINTS });
    await until('the proxy counted every point', async () => (await scrapeCounter(statPort, 'polymur_points_received_total')) === POINTS);
    assert.doesNotMatch(proxy.stderr(), /successful|unreachable/, 'the ping is still waiting');

    const signalled = Date.now();
    const exit = await proxy.stop('SIGTERM');
    const shutdownMs = Date.now() - signalled;
    process.stdout.write(
      `# gateway hanging from the start: listener open ${listenerMs} ms after spawn with the first ping pending; ${POINTS} points sent and read at once; SIGTERM with -shutdown-timeout 2s took ${shutdownMs} ms (exit ${exit.code ?? exit.signal})\n`,
    );
    assert.ok(shutdownMs < 3000, `SIGTERM took ${shutdownMs} ms`);
    assert.equal(exit.code, 0, proxy.stderr());
    assert.match(proxy.stderr(), new RegExp(`${POINTS} data points could not be delivered before the shutdown timeout`));
  } finally {
    await proxy?.stop();
    await stuck.close();
  }
});

test('gateway hanging from the start: what clients sent meanwhile arrives once a real gateway takes the address', async () => {
  const stuck = await startTcpSink();
  const cert = makeCert();
  const sink = await startTcpSink();
  let proxy: ListenerProcess | undefined;
  let gateway: GatewayProcess | undefined;
  try {
    proxy = await startProxy({
      gateway: `https://localhost:${stuck.port}`,
      cert,
      args: ['-timeout', '2s', '-max-retry-delay', '1s', '-flush-interval', '100ms', '-verbose=false'],
    });
    const { statPort } = proxy;
    await sendLoad({ port: proxy.port, connections: 1, points: POINTS });
    await until('the proxy counted every point', async () => (await scrapeCounter(statPort, 'polymur_points_received_total')) === POINTS);
    assert.equal(await scrapeCounter(statPort, 'polymur_points_written_total'), 0);
    await stuck.close();
    const replaced = Date.now();
    gateway = await startGateway({ cert, args: ['-dev-mode', '-destinations', sink.address, '-listen-https-port', String(stuck.port)] });
    await until('every point at the sink', () => delivery(sink.lines, 1, POINTS).missing === 0, 60_000);
    const d = delivery(sink.lines, 1, POINTS);
    process.stdout.write(
      `# gateway hanging from the start, then a real one: sent ${d.sent}, arrived ${d.arrived}, missing ${d.missing}, duplicated ${d.duplicated}; all there ${Date.now() - replaced} ms after the stuck peer was replaced\n`,
    );
    assert.equal(d.missing, 0);
    await proxy.waitForLog(/Connection to gateway https:\/\/localhost:\d+ successful/);
  } finally {
    await proxy?.stop();
    await gateway?.stop();
    await sink.close();
    await stuck.close();
  }
});
