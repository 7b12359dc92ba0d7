// The forwarder as a stage, in process against real peers on 127.0.0.1: destroy() ends a ping and
// a request hanging on a stuck peer (a TCP server that accepts and never answers) at once and
// closes the connections; an unexpected exception in a worker (a queue that fails to hand out a
// batch, a batch that cannot be read) is caught, counted and logged, the batch in hand is kept
// and delivered to a real gateway, and the worker goes on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Batch, BatchQueue } from '../../src/batch/batch.js';
import { createMemoryQueue } from '../../src/batch/memory-queue.js';
import { createDeadLetter } from '../../src/forward/dead-letter.js';
import { createForwarder, type ForwarderOptions } from '../../src/forward/forwarder.js';
import { Registry } from '../../src/observe/metrics.js';
import { makeCert } from '../../harness/certs.js';
import { logLines } from '../helpers/log-lines.js';
import { until } from '../helpers/points.js';
import { startGateway } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

function line(name: string): Batch {
  return { data: Buffer.from(`${name} 1 1700000000\n`), points: 1 };
}

function options(queue: BatchQueue, gateway: string, ca: Buffer, log: (m: string) => void, metrics: Registry): ForwarderOptions {
  return {
    queue,
    gateways: [gateway],
    apiKey: '123',
    ca,
    workers: 1,
    timeoutMs: 30_000,
    maxRetryDelayMs: 200,
    deadLetter: createDeadLetter({ path: join(mkdtempSync(join(tmpdir(), 'polymur-dead-')), 'dead.log'), maxBytes: 1 << 20, metrics, log }),
    verbose: false,
    metrics,
    log,
    onFatal: (m) => assert.fail(m),
  };
}

test('destroy(): a ping and a request hanging on a stuck peer end at once, close() resolves, the connections close, the batch counts as undelivered', async () => {
  const sockets = new Set<Socket>();
  // Reads (so it sees a connection closed) and never answers.
  const stuck = createServer((s) => {
    sockets.add(s);
    s.resume();
    s.on('close', () => sockets.delete(s));
  });
  stuck.listen(0, '127.0.0.1');
  await once(stuck, 'listening');
  const port = (stuck.address() as { port: number }).port;
  const queue = createMemoryQueue({ maxBatches: 10, maxBytes: 1 << 20, policy: 'block' });
  const logs = logLines();
  const forwarder = createForwarder({ ...options(queue, `https://localhost:${port}`, makeCert().cert, logs.log, new Registry()), workers: 2 });
  try {
    assert.equal(queue.offer(line('hang.a')), true);
    forwarder.start();
    await logs.waitFor(/^Pinging gateway https:\/\/localhost:\d+$/);
    // The ping and the batch's request, each on its own connection, both waiting for the handshake.
    await until('two connections at the stuck peer', () => sockets.size === 2, 10_000);
    const closing = forwarder.close();
    await queue.close();
    const destroyed = Date.now();
    forwarder.destroy();
    await closing;
    const closeMs = Date.now() - destroyed;
    await until('the stuck peer sees its connections closed', () => sockets.size === 0, 5_000);
    process.stdout.write(
      `# forwarder destroy(): close() resolved ${closeMs} ms after destroy() with a ping and a request hanging (-timeout 30s); connections closed; undelivered ${forwarder.undelivered()}\n`,
    );
    assert.ok(closeMs < 1000, `close() resolved ${closeMs} ms after destroy()`);
    assert.equal(forwarder.undelivered(), 1);
    assert.equal(forwarder.gatewayUp(), false);
    assert.equal(logs.lines.filter((l) => /successful|unreachable/.test(l)).length, 0, 'an aborted ping is not reported as an answer');
  } finally {
    forwarder.destroy();
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => stuck.close(() => r()));
  }
});

test('an unexpected exception in a worker is caught, counted and logged; the batch in hand is kept and delivered; the worker goes on', async () => {
  const sink = await startTcpSink();
  const gateway = await startGateway({ args: ['-dev-mode', '-destinations', sink.address] });
  const memory = createMemoryQueue({ maxBatches: 10, maxBytes: 1 << 20, policy: 'block' });
  // A queue that fails once to hand out a batch (as a spool whose read fails would), then hands out
  // a batch whose bytes cannot be read the first time (a bug in whatever built it).
  let takeFails = true;
  let readFails = true;
  const queue: BatchQueue = {
    ...memory,
    async take() {
      if (takeFails) {
        takeFails = false;
        throw new Error('the queue failed to read a batch');
      }
      const lease = await memory.take();
      if (!lease || !readFails) return lease;
      const { batch } = lease;
      const flaky: Batch = {
        points: batch.points,
        get data() {
          if (!readFails) return batch.data;
          readFails = false;
          throw new TypeError('batch data is not readable');
        },
      };
      return { batch: flaky, ack: () => lease.ack() };
    },
  };
  const metrics = new Registry();
  const logs = logLines();
  const forwarder = createForwarder(options(queue, gateway.url, gateway.cert.cert, logs.log, metrics));
  try {
    forwarder.start();
    for (const b of [line('worker.errors.unreadable'), line('worker.errors.after1'), line('worker.errors.after2')]) assert.equal(memory.offer(b), true);
    await sink.waitForLines(3, 20_000);
    assert.deepEqual([...sink.lines].sort(), ['worker.errors.after1 1 1700000000', 'worker.errors.after2 1 1700000000', 'worker.errors.unreadable 1 1700000000']);
    assert.equal(metrics.counter('polymur_worker_errors_total', '').value({ loop: 'sender' }), 2);
    await logs.waitFor(/^\[worker #0\] taking a batch: unexpected error, will try again: Error: the queue failed to read a batch \(at /);
    await logs.waitFor(/^\[worker #0\] unexpected error, will try again: TypeError: batch data is not readable \(at /);
    // The sink sees the lines before the gateway's 200 reaches the forwarder, which then acknowledges.
    await until('every batch acknowledged', async () => forwarder.undelivered() === 0, 10_000);
    process.stdout.write(`# worker errors: 2 unexpected exceptions (a failed take, an unreadable batch) caught and counted; 3 batches sent, 3 arrived\n`);
    await memory.close();
    await forwarder.close();
  } finally {
    forwarder.destroy();
    await gateway.stop();
    await sink.close();
  }
});
