// /readyz is readiness computed from real state: 503 with the reasons while no destination is up,
// the gateway cannot be reached, the keys were never loaded, a spool cannot store or a queue is over
// 90 % full; 200 once the cause is gone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { once } from 'node:events';
import { rmSync, writeFileSync } from 'node:fs';
import { createMemoryQueue } from '../../src/batch/memory-queue.js';
import { createKeyCache } from '../../src/keys/cache.js';
import { createFileKeyStore } from '../../src/keys/file-store.js';
import { readinessReasons, type QueueView } from '../../src/observe/readiness.js';
import { gatewayLater } from '../helpers/gateway-later.js';
import { runToExit } from '../../harness/programs.js';
import { openGraphiteStream } from '../helpers/graphite-stream.js';
import { until } from '../helpers/points.js';
import { startGateway, startProxy, startRelay, writeKeyFile, type GatewayProcess, type ListenerProcess, type RelayProcess } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

interface Ready {
  readonly status: number;
  readonly body: { status: string; reasons: string[] };
}

async function readyz(statPort: number): Promise<Ready> {
  const res = await fetch(`http://127.0.0.1:${statPort}/readyz`);
  return { status: res.status, body: (await res.json()) as Ready['body'] };
}

/** A loopback port nothing listens on (taken from the OS, then released). */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

test('readinessReasons: keys never loaded, a spool fault, a queue over 90 % of a limit, no destination, the gateway not reached', () => {
  const queue = createMemoryQueue({ maxBatches: 10, maxBytes: 1 << 20, policy: 'block' });
  const batch = { data: Buffer.from('a 1 1700000000\n'), points: 1 };
  for (let i = 0; i < 9; i++) assert.equal(queue.offer(batch), true);
  const sources = { queues: () => [['queue to the gateway', queue] as const] };
  assert.deepEqual(readinessReasons(sources), [], '90 % is not over 90 %');
  queue.offer(batch);
  assert.deepEqual(readinessReasons(sources), ['queue to the gateway is 100 % full (10 of 10 batches)']);

  const faulty: QueueView = { depth: queue.depth, limits: () => ({ batches: Infinity, bytes: Infinity, points: Infinity }), fault: () => 'ENOSPC: no space left on device' };
  assert.deepEqual(readinessReasons({ queues: () => [['queue of destination a:1', faulty]] }), ['queue of destination a:1 cannot store: ENOSPC: no space left on device']);

  let loaded = false;
  assert.deepEqual(readinessReasons({ keysLoaded: () => loaded }), ['API keys never loaded from the key store']);
  loaded = true;
  assert.deepEqual(readinessReasons({ keysLoaded: () => loaded }), []);

  const dests = [
    { id: 'a:1', connected: false },
    { id: 'b:2', connected: false },
  ];
  assert.deepEqual(readinessReasons({ destinations: () => dests }), ['no destination is up (a:1, b:2 unreachable)']);
  dests[1] = { id: 'b:2', connected: true };
  assert.deepEqual(readinessReasons({ destinations: () => dests }), []);
  assert.deepEqual(readinessReasons({ destinations: () => [] }), ['no destination registered']);
  assert.deepEqual(readinessReasons({ gatewayUp: () => false }), ['gateway not reached: the last attempt failed']);
});

test('the key cache is loaded() once a load from a real file store succeeded, not before', async () => {
  const file = writeKeyFile({});
  writeFileSync(file.path, '{"site1": ');
  const cache = createKeyCache({ store: createFileKeyStore(file.path), refreshMs: 600_000, log: () => undefined });
  try {
    await assert.rejects(cache.start());
    assert.equal(cache.loaded(), false);
    assert.deepEqual(readinessReasons({ keysLoaded: cache.loaded }), ['API keys never loaded from the key store']);
    writeFileSync(file.path, '{"site1": "key-one"}');
    await cache.refresh();
    assert.equal(cache.loaded(), true);
    assert.deepEqual(readinessReasons({ keysLoaded: cache.loaded }), []);
  } finally {
    await cache.close();
  }
});

test('gateway /readyz: 503 while its destination is down, 200 once a real TCP sink listens there', async () => {
  const port = await freePort();
  let gateway: GatewayProcess | undefined;
  let sink: TcpSink | undefined;
  try {
    gateway = await startGateway({ args: ['-destinations', `127.0.0.1:${port}`] });
    const down = await readyz(gateway.statPort);
    assert.equal(down.status, 503);
    assert.deepEqual(down.body, { status: 'not ready', reasons: [`no destination is up (127.0.0.1:${port} unreachable)`] });
    assert.equal((await fetch(`http://127.0.0.1:${gateway.statPort}/healthz`)).status, 200, 'alive all the same');
    sink = await startTcpSink(port);
    const started = Date.now();
    await until('ready', async () => (await readyz(gateway!.statPort)).status === 200, 15_000);
    process.stdout.write(`# readiness: gateway ready ${Date.now() - started} ms after its destination came up\n`);
    assert.deepEqual((await readyz(gateway.statPort)).body, { status: 'ready', reasons: [] });
  } finally {
    await gateway?.stop();
    await sink?.close();
  }
});

test('proxy /readyz: 503 with the gateway down and its -queue-cap 2 queue full; 200 once the gateway is up and everything delivered', async () => {
  const sink = await startTcpSink();
  const later = await gatewayLater({ args: ['-destinations', sink.address] });
  let proxy: ListenerProcess | undefined;
  let gateway: GatewayProcess | undefined;
  try {
    proxy = await startProxy({
      gateway: later.url,
      cert: later.cert,
      args: ['-queue-cap', '2', '-batch-size', '10', '-flush-interval', '20ms', '-max-retry-delay', '500ms', '-workers', '1', '-shutdown-timeout', '1s'],
    });
    const lines = Array.from({ length: 100 }, (_, i) => `readyz.proxy.m${i} ${i} 1700000000`);
    const stream = await openGraphiteStream(proxy.port);
    await stream.send(lines);
    const statPort = proxy.statPort;
    await until('the queue full', async () => (await readyz(statPort)).body.reasons.some((r) => r.startsWith('queue to the gateway')), 15_000);
    const full = await readyz(statPort);
    process.stdout.write(`# readiness: proxy with the gateway down: ${full.status} ${JSON.stringify(full.body.reasons)}\n`);
    assert.equal(full.status, 503);
    assert.deepEqual(full.body.reasons, ['gateway not reached: the last attempt failed', 'queue to the gateway is 100 % full (2 of 2 batches)']);

    gateway = await later.start();
    await sink.waitForLines(100, 30_000);
    await stream.close();
    await until('ready', async () => (await readyz(statPort)).status === 200, 15_000);
    assert.deepEqual(sink.lines.slice().sort(), lines.slice().sort(), 'every point delivered once');
  } finally {
    await proxy?.stop();
    await gateway?.stop();
    await sink.close();
  }
});

test('relay /readyz: a down destination whose queue passed 90 % of -outgoing-queue-cap makes it not ready, the other one up', async () => {
  const downPort = await freePort();
  const up = await startTcpSink();
  let relay: RelayProcess | undefined;
  try {
    relay = await startRelay([
      '-destinations',
      `${up.address},127.0.0.1:${downPort}`,
      '-outgoing-queue-cap',
      '100',
      '-flush-interval',
      '20ms',
      '-batch-size',
      '50',
      '-shutdown-timeout',
      '1s',
    ]);
    const stream = await openGraphiteStream(relay.port);
    await stream.send(Array.from({ length: 100 }, (_, i) => `readyz.relay.m${i} ${i} 1700000000`));
    await up.waitForLines(100, 15_000);
    const statPort = relay.statPort;
    await until('the down queue full', async () => (await readyz(statPort)).status === 503, 15_000);
    const r = await readyz(statPort);
    process.stdout.write(`# readiness: relay with one destination down: ${r.status} ${JSON.stringify(r.body.reasons)}\n`);
    assert.deepEqual(r.body.reasons, [`queue of destination 127.0.0.1:${downPort} is 100 % full (100 of 100 points)`]);
    await stream.close();
  } finally {
    await relay?.stop();
    await up.close();
  }
});

test('gateway /readyz: 503 "API keys never loaded" while its key file is missing, 200 once polymur-keys creates it', async () => {
  const sink = await startTcpSink();
  const file = writeKeyFile({});
  rmSync(file.path);
  let gateway: GatewayProcess | undefined;
  try {
    gateway = await startGateway({ keyFile: file, args: ['-destinations', sink.address] });
    await until('the destination connected', async () => !(await readyz(gateway!.statPort)).body.reasons.some((r) => r.startsWith('no destination')), 15_000);
    const missing = await readyz(gateway.statPort);
    assert.equal(missing.status, 503);
    assert.deepEqual(missing.body.reasons, ['API keys never loaded from the key store']);
    const created = await runToExit('keys', ['-key-store', file.url, 'create', 'site1']);
    assert.equal(created.code, 0, created.stderr);
    await until('keys loaded', async () => (await readyz(gateway!.statPort)).status === 200, 30_000);
  } finally {
    await gateway?.stop();
    await sink.close();
  }
});
