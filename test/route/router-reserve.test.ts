// The router never ignores what a queue answers: a batch is accepted only once room for it is
// reserved on every destination queue it goes to, in the queue's own units (bytes as stored and
// points), and -when-full decides what a refusal means. Real routers in this process, real TCP
// sinks on 127.0.0.1, real spool queues on disk.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Batch } from '../../src/batch/batch.js';
import { Registry } from '../../src/observe/metrics.js';
import { parseDestination } from '../../src/route/destination.js';
import { createRouter, type RouterOptions } from '../../src/route/router.js';
import { openSpoolQueue } from '../../src/spool/spool-queue.js';
import { freePort } from '../../harness/free-port.js';
import { until } from '../helpers/points.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

function lines(tag: string, from: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `${tag}.m${from + i} ${from + i} 1700000000`);
}

function batchOf(l: readonly string[]): Batch {
  return { data: Buffer.from(l.map((s) => `${s}\n`).join('')), points: l.length };
}

function routerWith(destinations: string[], extra: Partial<RouterOptions> = {}) {
  const metrics = new Registry();
  const logged: string[] = [];
  const router = createRouter({
    destinations: destinations.map((d) => parseDestination(d)),
    distribution: 'broadcast',
    queueCapPoints: 100,
    metrics,
    log: (m) => logged.push(m),
    writeTimeoutMs: 0,
    resendWindowMs: 0,
    ...extra,
  });
  const counter = (name: string, labels?: Record<string, string>): number => {
    const line = metrics
      .render()
      .split('\n')
      .find((l) => l.startsWith(name) && (!labels || Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`))));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  return { router, logged, counter };
}

test('over a small per-destination spool, every accepted offer is queued whole: accepted x 10 points arrive, no more, no fewer', async () => {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'polymur-router-spool-'));
  // Room for two 10-point batches (each ~330 bytes plus its record header), not three.
  const { router, counter } = routerWith([`127.0.0.1:${port}`], {
    queueCapPoints: 4096,
    makeQueue: () => openSpoolQueue({ dir, maxBytes: 800, policy: 'block', log: () => undefined }),
  });
  try {
    const sent = Array.from({ length: 5 }, (_, i) => lines('spoolcap', i * 10, 10));
    const answers = sent.map((l) => router.offer(batchOf(l)));
    assert.deepEqual(answers, [true, true, false, false, false]);
    assert.equal(counter('polymur_destination_full_total'), 3);
    const sink = await startTcpSink(port);
    try {
      await sink.waitForLines(20, 15_000);
      const accepted = sent.filter((_, i) => answers[i]).flat();
      await until('the queue is empty', () => router.destinations()[0]!.queuedPoints === 0, 5_000);
      assert.deepEqual(sink.lines, accepted);
    } finally {
      await sink.close();
    }
  } finally {
    router.destroy();
  }
});

test('broadcast, block: one full queue refuses the whole batch (no destination gets a copy); whenReady fires once it has room', async () => {
  const healthy = await startTcpSink();
  const downPort = await freePort();
  const { router } = routerWith([healthy.address, `127.0.0.1:${downPort}`]);
  try {
    const queued = (): number[] => router.destinations().map((d) => d.queuedPoints);
    assert.equal(router.offer(batchOf(lines('block', 0, 100))), true);
    await healthy.waitForLines(100);
    await until('the healthy queue written', () => queued()[0] === 0, 5000);
    assert.equal(router.offer(batchOf(lines('block', 100, 1))), false, 'the down destination holds its 100-point cap');
    let ready = false;
    router.whenReady(() => (ready = true));
    // The queues, not a wait: the refused batch is in neither (and the healthy sink, below, gets block.m100 once).
    assert.deepEqual(queued(), [0, 100], 'the refused batch reached no destination');
    assert.equal(ready, false);
    const late = await startTcpSink(downPort);
    try {
      await until('whenReady after the down destination drained', () => ready, 15_000);
      assert.equal(router.offer(batchOf(lines('block', 100, 1))), true);
      await late.waitForLines(101);
      await healthy.waitForLines(101);
      assert.deepEqual(late.lines, lines('block', 0, 101));
      assert.deepEqual(healthy.lines, lines('block', 0, 101));
    } finally {
      await late.close();
    }
  } finally {
    router.destroy();
    await healthy.close();
  }
});

test("broadcast, drop: the full destination's copy is dropped and counted, the others get the batch", async () => {
  const healthy = await startTcpSink();
  const downPort = await freePort();
  const down = `127.0.0.1:${downPort}`;
  const { router, counter } = routerWith([healthy.address, down], { whenFull: 'drop' });
  try {
    assert.equal(router.offer(batchOf(lines('drop', 0, 100))), true);
    await until('the healthy queue is written', () => router.destinations().find((d) => d.id === healthy.address)!.queuedPoints === 0, 5_000);
    assert.equal(router.offer(batchOf(lines('drop', 100, 50))), true);
    await healthy.waitForLines(150);
    assert.deepEqual(healthy.lines, lines('drop', 0, 150));
    assert.equal(counter('polymur_points_dropped_total', { reason: 'queue_full', destination: down }), 50);
    assert.equal(router.destinations().find((d) => d.id === down)!.queuedPoints, 100);
  } finally {
    router.destroy();
    await healthy.close();
  }
});

test("one batch cannot pass a queue's cap by more than 32 times: a 40x batch is refused (counted, logged with the flag to raise), a 32x one taken by an empty queue", async () => {
  const sink = await startTcpSink();
  const { router, counter, logged } = routerWith([sink.address]);
  try {
    assert.equal(router.offer(batchOf(lines('big', 0, 4000))), false);
    assert.equal(counter('polymur_batches_oversized_total'), 1);
    assert.ok(
      logged.some((l) => /4000 data points .* larger than destination .* can ever hold \(100\): raise -outgoing-queue-cap/.test(l)),
      logged.join('\n'),
    );
    assert.equal(router.offer(batchOf(lines('big', 0, 3200))), true);
    await sink.waitForLines(3200);
  } finally {
    router.destroy();
    await sink.close();
  }
});

test('hash-route deldest of a destination that is down: what it queued goes to the ring, none is discarded', async () => {
  const sink = await startTcpSink();
  const downPort = await freePort();
  const up = `${sink.address}:a`;
  const down = `127.0.0.1:${downPort}:b`;
  // Failover after many reconnects: the down destination is still in the ring when it is deleted.
  const { router, counter } = routerWith([up, down], { distribution: 'hash-route', queueCapPoints: 10_000, failoverAfter: 1000 });
  try {
    const sent = lines('deldest.hash', 0, 400);
    assert.equal(router.offer(batchOf(sent)), true);
    await until('part of the batch waits for the down destination', () => (router.destinations().find((d) => d.id === down)?.queuedPoints ?? 0) > 0, 5_000);
    const waiting = router.destinations().find((d) => d.id === down)!.queuedPoints;
    router.removeDestination(down);
    await sink.waitForLines(400, 10_000);
    assert.deepEqual([...sink.lines].sort(), [...sent].sort());
    assert.equal(counter('polymur_rerouted_points_total'), waiting);
    assert.equal(counter('polymur_points_dropped_total'), 0);
  } finally {
    router.destroy();
    await sink.close();
  }
});

test('hash-route deldest of a destination that stopped reading: the batch in hand, its queue and what its socket took unread all go to the ring', async () => {
  const sink = await startTcpSink();
  const stuck = await startTcpSink();
  stuck.pause();
  const up = `${sink.address}:a`;
  const gone = `${stuck.address}:b`;
  // No write timeout: the destination is still in the ring, connected, its writer blocked on a full socket.
  const { router, counter } = routerWith([up, gone], { distribution: 'hash-route', queueCapPoints: 1_000_000, resendWindowMs: 1000, resendWindowBytes: 32 * 1024 * 1024 });
  try {
    const sent: string[] = [];
    for (let i = 0; i < 30; i++) {
      const part = lines(`deldest.stuck.host${i}`, i * 10_000, 10_000);
      sent.push(...part);
      assert.equal(router.offer(batchOf(part)), true);
    }
    const status = () => router.destinations().find((d) => d.id === gone)!;
    await until('the stuck destination has points written into its socket and more queued', () => status().writtenPoints > 0 && status().queuedPoints > 0, 10_000);
    router.removeDestination(gone);
    // The count first: a set of 300,000 lines at every poll would take the CPU the router needs.
    await until('every point at the remaining destination', () => sink.lines.length >= sent.length && new Set(sink.lines).size === sent.length, 20_000);
    assert.deepEqual([...new Set(sink.lines)].sort(), [...sent].sort());
    assert.ok(counter('polymur_rerouted_points_total') > 0);
    process.stdout.write(
      `# hash-route deldest of a stuck destination: sent ${sent.length}, arrived ${sink.lines.length}, distinct ${new Set(sink.lines).size}, duplicated ${sink.lines.length - new Set(sink.lines).size}\n`,
    );
  } finally {
    router.destroy();
    await sink.close();
    await stuck.close();
  }
});
