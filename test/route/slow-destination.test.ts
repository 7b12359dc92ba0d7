// Each destination has its own queue and writer: one that stops reading (its TCP window full, its
// writes backing up) does not hold up the others while its bounded queue has room, and gets
// everything once it reads again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openGraphiteStream } from '../helpers/graphite-stream.js';
import { scrapeCounter } from '../helpers/points.js';
import { scrape } from '../helpers/prometheus.js';
import { startRelay, type ListenerProcess } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

const POINTS = 200_000;

test('broadcast: a stalled destination does not hold up the other; it catches up when it reads again', async () => {
  const sinks: TcpSink[] = [];
  let relay: ListenerProcess | undefined;
  try {
    for (let i = 0; i < 2; i++) sinks.push(await startTcpSink());
    const [fast, slow] = sinks as [TcpSink, TcpSink];
    slow.pause();
    relay = await startRelay(['-destinations', `${fast.address},${slow.address}`, '-outgoing-queue-cap', String(POINTS), '-flush-interval', '50ms']);
    const stream = await openGraphiteStream(relay.port);
    const lines = Array.from({ length: POINTS }, (_, i) => `slow.dest.host${i % 100}.m${i} ${i} 1700000000`);
    for (let i = 0; i < POINTS; i += 10_000) await stream.send(lines.slice(i, i + 10_000));
    await stream.close();

    await fast.waitForLines(POINTS, 30_000);
    // The stalled one got at most what its socket buffers hold; the rest waits in its own queue.
    assert.equal(slow.lines.length, 0);
    const m = await scrape(relay.statPort);
    assert.ok(m.value('polymur_queue_points', { destination: slow.address }) > 0, "points wait in the stalled destination's queue");
    assert.equal(m.value('polymur_queue_points', { destination: fast.address }), 0);
    assert.equal(m.value('polymur_destination_up', { destination: slow.address }), 1);

    slow.resume();
    await slow.waitForLines(POINTS, 30_000);
    assert.deepEqual(slow.lines, lines);
    assert.deepEqual(fast.lines, lines);
    assert.equal(await scrapeCounter(relay.statPort, 'polymur_queue_points'), 0);
  } finally {
    await relay?.stop();
    for (const s of sinks) await s.close();
  }
});
