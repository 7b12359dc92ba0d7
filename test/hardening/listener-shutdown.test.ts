// The Graphite listener as a Stage (src/input/tcp-listener.ts), on real sockets: close() stops
// accepting, reads what each client already sent and closes its connection; a client that ignores
// our FIN and keeps sending is cut after the grace while a well-behaved client beside it loses
// nothing; destroy() cuts every connection at once and ends a pending close(). Both twice-safe.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createBatcher } from '../../src/batch/batcher.js';
import { createMemoryQueue } from '../../src/batch/memory-queue.js';
import { createTcpListener, type TcpListener } from '../../src/input/tcp-listener.js';
import { Registry } from '../../src/observe/metrics.js';
import { until } from '../helpers/points.js';

async function listenerWithQueue(): Promise<{ listener: TcpListener; points: () => number; flush: () => void }> {
  const queue = createMemoryQueue({ maxBatches: 10_000, maxBytes: 1 << 28, policy: 'block' });
  const batcher = createBatcher({ batchSize: 1000, flushIntervalMs: 0, sink: queue });
  const listener = await createTcpListener({ listenAddr: '127.0.0.1:0', batcher, metrics: new Registry(), log: () => undefined });
  return { listener, points: () => queue.depth().points, flush: () => batcher.flush() };
}

async function client(port: number, opts: { allowHalfOpen?: boolean } = {}): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

const lines = (tag: string, n: number): string => Array.from({ length: n }, (_, i) => `${tag}.m ${i} 1700000000\n`).join('');

test('close(): what clients sent is read and delivered, their connections closed; a second close() is the same drain', { timeout: 20_000 }, async () => {
  const { listener, points } = await listenerWithQueue();
  const a = await client(listener.address.port);
  const b = await client(listener.address.port);
  // Sent, never ended by the clients: close() must still read all of it.
  await new Promise<void>((r) => a.write(lines('a', 3000), () => r()));
  await new Promise<void>((r) => b.write(lines('b', 2000), () => r()));
  const started = Date.now();
  const closing = listener.close();
  assert.equal(listener.close(), closing);
  await closing;
  const ms = Date.now() - started;
  process.stdout.write(`# listener close(): 2 open clients, 5000 points sent, ${points()} delivered, closed in ${ms} ms\n`);
  assert.equal(points(), 5000);
  await until('both clients see the connection closed', () => a.closed && b.closed, 5000);
  await assert.rejects(client(listener.address.port), 'no longer accepting');
});

test('close(): a client ignoring our FIN and sending on is cut after the grace; a well-behaved one beside it loses nothing', { timeout: 20_000 }, async () => {
  const { listener, points } = await listenerWithQueue();
  const good = await client(listener.address.port);
  await new Promise<void>((r) => good.write(lines('good', 1000), () => r()));
  // Half-open on its side: it never answers our FIN, and keeps sending.
  const hostile = await client(listener.address.port, { allowHalfOpen: true });
  const flood = setInterval(() => hostile.writable && hostile.write(lines('hostile', 10)), 10);
  flood.unref();
  try {
    const started = Date.now();
    await listener.close();
    const ms = Date.now() - started;
    process.stdout.write(`# listener close() with a client that never closes: ${ms} ms; ${points()} points delivered (1000 from the good client)\n`);
    assert.ok(ms >= 1500 && ms < 4000, `cut after the 2 s grace, took ${ms} ms`);
    assert.ok(points() >= 1000, 'the good client lost nothing');
    await until('the hostile client is cut off', () => hostile.destroyed || hostile.closed, 5000);
  } finally {
    clearInterval(flood);
    hostile.destroy();
  }
});

test('destroy(): every connection cut at once; a pending close() resolves; twice is harmless', { timeout: 20_000 }, async () => {
  const { listener } = await listenerWithQueue();
  const stubborn = await client(listener.address.port, { allowHalfOpen: true });
  const closing = listener.close();
  const started = Date.now();
  listener.destroy();
  listener.destroy();
  await closing;
  const ms = Date.now() - started;
  assert.ok(ms < 1000, `close() ended by destroy() in ${ms} ms, not after the grace`);
  // Half-open on its side, it sees the end of what we send; close() alone would have waited 2 s.
  await until('the client sees the connection end', () => stubborn.readableEnded || stubborn.closed, 5000);
  stubborn.destroy();
});
