// Backpressure in the Graphite listener (src/input/tcp-listener.ts, src/input/backpressure.ts), on
// real sockets into a real batcher and a bounded memory queue: when the queue is full only the
// connections that read pause (idle ones are left alone: pausing and resuming each of thousands
// of them per turn was the proxy's cost per point at many connections), what they read after the
// refusal is bounded, and once the queue drains every paused connection reads again and every
// point arrives exactly once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createBatcher, type Batcher } from '../../src/batch/batcher.js';
import { createMemoryQueue } from '../../src/batch/memory-queue.js';
import type { BatchQueue } from '../../src/batch/batch.js';
import { LATE_READ_BYTES } from '../../src/input/backpressure.js';
import { SHARED_READ_BYTES } from '../../src/input/shared-read.js';
import { createTcpListener, type TcpListener } from '../../src/input/tcp-listener.js';
import { Registry } from '../../src/observe/metrics.js';
import { until } from '../helpers/points.js';

const BATCH_SIZE = 1000;

interface Rig {
  listener: TcpListener;
  batcher: Batcher;
  queue: BatchQueue;
  gauge: (name: string) => number;
}

async function rig(): Promise<Rig> {
  // 4 batches: the queue is full after 4,000 points until the test takes them.
  const queue = createMemoryQueue({ maxBatches: 4, maxBytes: 1 << 28, policy: 'block' });
  const batcher = createBatcher({ batchSize: BATCH_SIZE, flushIntervalMs: 20, sink: queue });
  const metrics = new Registry();
  const listener = await createTcpListener({ listenAddr: '127.0.0.1:0', batcher, metrics, log: () => undefined, maxConnections: 10_000, maxConnectionsPerIp: 0 });
  const gauge = (name: string): number => metrics.samplesOf(name)[0]?.value ?? NaN;
  return { listener, batcher, queue, gauge };
}

async function client(port: number): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  return socket;
}

const lines = (tag: string, from: number, n: number): string => Array.from({ length: n }, (_, i) => `bp.${tag} ${from + i} 1700000000\n`).join('');

/** Takes and acknowledges batches until `expected` points arrived; each line counted once by its name and value. */
async function drain(queue: BatchQueue, expected: number): Promise<{ points: number; distinct: number }> {
  const seen = new Set<string>();
  let points = 0;
  const deadline = Date.now() + 30_000;
  while (points < expected) {
    if (Date.now() > deadline) throw new Error(`drained ${points} of ${expected} points in 30 s`);
    const lease = queue.takeNow();
    if (!lease) {
      await new Promise((r) => setTimeout(r, 5));
      continue;
    }
    points += lease.batch.points;
    for (const line of lease.batch.data.toString('latin1').split('\n')) if (line !== '') seen.add(line);
    lease.ack();
  }
  return { points, distinct: seen.size };
}

const writeAll = (socket: Socket, text: string): Promise<void> => new Promise((resolve) => socket.write(text, () => resolve()));

test('queue full: only the connections that read pause, idle ones are left alone; all resume and nothing is lost', { timeout: 60_000 }, async () => {
  const { listener, batcher, queue, gauge } = await rig();
  const idle: Socket[] = [];
  const senders: Socket[] = [];
  try {
    for (let i = 0; i < 300; i++) idle.push(await client(listener.address.port));
    for (let i = 0; i < 2; i++) senders.push(await client(listener.address.port));
    await until('every connection accepted', () => gauge('polymur_connections_open') === 302, 10_000);
    // 20,000 points each, far over what the queue and the late reads hold: both senders pause.
    const perSender = 20_000;
    const written = senders.map((s, i) => writeAll(s, lines(`sender${i}`, 0, perSender)));
    await until('both senders paused by the full queue', () => gauge('polymur_connections_paused') >= 2, 20_000);
    const pausedWhileFull = gauge('polymur_connections_paused');
    const heldWhileFull = batcher.held();
    process.stdout.write(`# queue full with 300 idle and 2 sending connections: ${pausedWhileFull} paused, ${heldWhileFull} points held by the batcher\n`);
    assert.equal(pausedWhileFull, 2, 'the 300 idle connections read nothing, so none of them is paused');
    // The idle connections send once the queue has room: one line each, after the senders' load.
    const taken = drain(queue, 2 * perSender + idle.length);
    await Promise.all(written);
    await until('the senders resumed', () => gauge('polymur_connections_paused') === 0, 20_000);
    await Promise.all(idle.map((s, i) => writeAll(s, lines(`idle${i}`, 0, 1))));
    const { points, distinct } = await taken;
    process.stdout.write(`# after the queue drained: ${points} points taken, ${distinct} distinct (of ${2 * perSender + idle.length} sent)\n`);
    assert.deepEqual({ points, distinct }, { points: 2 * perSender + idle.length, distinct: 2 * perSender + idle.length });
  } finally {
    for (const s of [...idle, ...senders]) s.destroy();
    await listener.close();
  }
});

test('queue full: what connections read after the refusal is bounded; they all resume in turn and nothing is lost', { timeout: 60_000 }, async () => {
  const { listener, batcher, queue, gauge } = await rig();
  const senders: Socket[] = [];
  try {
    const count = 64;
    for (let i = 0; i < count; i++) senders.push(await client(listener.address.port));
    await until('every connection accepted', () => gauge('polymur_connections_open') === count, 10_000);
    // Each writes well over one read (64 KiB): 64 of them all reading once after the refusal would hold 4 MiB.
    const perSender = 8_000;
    const line = lines('sender00', 0, 1).length;
    const written = senders.map((s, i) => writeAll(s, lines(`sender${String(i).padStart(2, '0')}`, 0, perSender)));
    await until('every sender paused by the full queue', () => gauge('polymur_connections_paused') === count, 20_000);
    const heldBytes = batcher.held() * line;
    // Before the refusal: what fills the queue's 4 batches and the batch being cut; after it, the late reads.
    const bound = LATE_READ_BYTES + SHARED_READ_BYTES + 2 * BATCH_SIZE * line;
    process.stdout.write(
      `# ${count} connections sending into a full queue: ${(heldBytes / 1024).toFixed(0)} KiB held by the batcher once all paused (bound ${(bound / 1024).toFixed(0)} KiB)\n`,
    );
    assert.ok(heldBytes <= bound, `the batcher holds ${heldBytes} bytes of late reads, over ${bound}`);
    const { points, distinct } = await drain(queue, count * perSender);
    await Promise.all(written);
    process.stdout.write(`# after the queue drained: ${points} points taken, ${distinct} distinct (of ${count * perSender} sent)\n`);
    assert.deepEqual({ points, distinct }, { points: count * perSender, distinct: count * perSender });
    assert.equal(gauge('polymur_connections_paused'), 0);
  } finally {
    for (const s of senders) s.destroy();
    await listener.close();
  }
});
