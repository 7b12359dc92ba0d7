// The gateway transport through a real forward proxy (Debian's tinyproxy), in process: destroy()
// reaches a tunnel whose TLS handshake to the gateway never completes (the proxy's CONNECT
// answered, the gateway behind it silent): the request fails at once and the tunnel is closed,
// instead of being left to the handshake timeout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Socket } from 'node:net';
import { createGatewayTransport } from '../../src/forward/transport.js';
import { startTinyproxy } from '../helpers/tinyproxy.js';
import { until } from '../helpers/points.js';

test('through a forward proxy, destroy() ends a ping whose TLS handshake inside the tunnel hangs', async () => {
  // A gateway that accepts and reads, and never answers: the handshake waits for a ServerHello.
  let received = 0;
  const sockets = new Set<Socket>();
  let closed = 0;
  const silentGateway = createServer((s) => {
    sockets.add(s);
    s.on('close', () => closed++);
    s.on('data', (chunk: Buffer) => (received += chunk.length));
    s.on('error', () => {});
  }).listen(0, '127.0.0.1');
  await once(silentGateway, 'listening');
  const port = (silentGateway.address() as { port: number }).port;
  const tinyproxy = await startTinyproxy({ connectPorts: [port] });
  try {
    const transport = createGatewayTransport({ url: `https://localhost:${port}`, apiKey: 'k', timeoutMs: 30_000, proxy: new URL(tinyproxy.url) });
    const started = Date.now();
    const ping = transport.ping();
    await until('the TLS ClientHello through the tunnel', () => received > 0, 10_000);
    transport.destroy();
    const result = await ping;
    // tinyproxy closes its end towards the gateway once our socket to it is gone.
    await until('the tunnel closed', () => closed === sockets.size, 5_000);
    const tookMs = Date.now() - started;
    process.stdout.write(
      `# destroy() with a TLS handshake hanging inside a CONNECT tunnel: ping answered ${JSON.stringify(result)} after ${tookMs} ms (-timeout 30 s), ${received} bytes of ClientHello through the tunnel\n`,
    );
    assert.equal(result.ok, false);
    assert.equal(sockets.size, 1);
    assert.ok(tookMs < 6_000, `ended ${tookMs} ms after the start, not at the 30 s handshake timeout`);
    assert.deepEqual(tinyproxy.requests(), [`CONNECT localhost:${port} HTTP/1.1`]);
  } finally {
    await tinyproxy.stop();
    for (const s of sockets) s.destroy();
    silentGateway.close();
  }
});
