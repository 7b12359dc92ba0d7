// polymur-gateway on SIGTERM, as a real process under a real proxy's stream: a request that
// arrives during the drain gets 503 + Connection: close + Retry-After, one in flight completes with
// Connection: close, everything answered 200 reaches the destination before the process exits,
// and the proxy delivers the rest once a gateway is back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { sendLoad } from '../../harness/load-generator.js';
import { delivery, scrapeCounter, until } from '../helpers/points.js';
import { postHead, rawConnect } from '../helpers/raw-http.js';
import { startGateway, startProxy } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

test('SIGTERM: 503 and Connection: close during the drain, requests in flight completed, queued points flushed', async () => {
  const sink = await startTcpSink();
  const gwArgs = ['-dev-mode', '-destinations', sink.address, '-shutdown-timeout', '10s'];
  let gateway = await startGateway({ args: gwArgs });
  const port = gateway.port;
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, args: ['-timeout', '2s', '-max-retry-delay', '1s', '-flush-interval', '100ms', '-verbose=false'] });
  try {
    const points = 20_000;
    const sending = sendLoad({ port: proxy.port, connections: 2, points, ratePerSecond: 5_000 });
    await sink.waitForLines(2_000);

    // In flight at the signal: half of a batch of 1,000 points.
    const batch = gzipSync(Array.from({ length: 1000 }, (_, i) => `shutdown.inflight ${i} 1700000000\n`).join(''));
    const inFlight = await rawConnect(port, gateway.cert.cert);
    await inFlight.write(postHead('/ingest', '123', batch.length));
    await inFlight.write(batch.subarray(0, batch.length >> 1));
    // Begun at the signal: a request whose headers are not complete yet.
    const late = await rawConnect(port, gateway.cert.cert);
    await late.write('POST /ingest HTTP/1.1\r\nHost: localhost\r\n');

    gateway.proc.kill('SIGTERM');
    await gateway.waitForLog(/Received SIGTERM, shutting down/);
    await late.write('X-Polymur-Key: 123\r\nContent-Length: 0\r\n\r\n');
    const refused = await late.response;
    assert.deepEqual([refused.status, refused.body, refused.headers.connection, refused.headers['retry-after']], [503, 'Shutting down\n', 'close', '1']);
    await inFlight.write(batch.subarray(batch.length >> 1));
    const completed = await inFlight.response;
    assert.deepEqual([completed.status, completed.body, completed.headers.connection], [200, 'Batch Received\n', 'close']);
    const exit = await gateway.exited;
    assert.deepEqual(exit, { code: 0, signal: null });

    // Everything the gateway answered 200 for is at the sink now that it has exited.
    const acked = await scrapeCounter(proxy.statPort, 'polymur_points_written_total');
    const good = (): string[] => sink.lines.filter((l) => l.startsWith('collectd.'));
    const atExit = delivery(good(), 2, points);
    assert.equal(sink.lines.filter((l) => l.startsWith('shutdown.inflight ')).length, 1000);
    assert.ok(atExit.distinct >= acked, `${atExit.distinct} at the sink, ${acked} acknowledged to the proxy`);

    gateway = await startGateway({ cert: gateway.cert, args: [...gwArgs, '-listen-https-port', String(port)] });
    await sending;
    await until('every point at the sink', () => delivery(good(), 2, points).missing === 0, 60_000);
    const d = delivery(good(), 2, points);
    process.stdout.write(
      `# gateway SIGTERM: 503 to the late request, 200 + close to the one in flight (1000 points, all flushed); ${acked} points acknowledged before exit, ${atExit.distinct} at the sink at exit; after restart sent ${d.sent}, arrived ${d.arrived}, missing ${d.missing}, duplicated ${d.duplicated}\n`,
    );
    assert.equal(d.missing, 0);
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.close();
  }
});
