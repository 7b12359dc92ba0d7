// A destination going away during a stream. hash-route: after 3 failed reconnects carbon-cache b
// leaves the ring, what was meant for it lands on a and c (nothing lost), and once b is back it
// rejoins and receives its metrics again. With -replication-factor 2 a stopped carbon-cache keeps its
// place (its share waits in its queue and arrives when it is back, every point on the two carbons
// carbon's ring names), and leaves the ring only once its queue is full. broadcast: a destination that is down keeps its queue,
// the other one is not held up, and after its return it receives everything it missed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort, startCarbons } from '../helpers/carbon.js';
import { assertStoredOn, carbonPlacement } from '../helpers/carbon-ring.js';
import { openGraphiteStream, type GraphiteStream } from '../helpers/graphite-stream.js';
import { scrapeCounter, until } from '../helpers/points.js';
import { startRelay, type ListenerProcess } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

const PER_PHASE = 200;

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

test('hash-route: a stopped carbon-cache leaves the ring, its metrics go to the others, it rejoins when back', async () => {
  const carbons = await startCarbons(['a', 'b', 'c']);
  const destinations = carbons.map((c, i) => `${c.address}:${'abc'[i]}`);
  let relay: ListenerProcess | undefined;
  let stream: GraphiteStream | undefined;
  try {
    relay = await startRelay(['-destinations', destinations.join(','), '-distribution', 'hash-route', '-flush-interval', '50ms']);
    stream = await openGraphiteStream(relay.port);
    const now = Math.floor(Date.now() / 1000);
    const phase = async (label: string, ring: number[]): Promise<Map<string, number>> => {
      const names = Array.from({ length: PER_PHASE }, (_, i) => `failover.${label}.m${i}`);
      await stream!.send(names.map((n, i) => `${n} ${i} ${now - 5}`));
      // Where carbon puts each name with the destinations that are in the ring.
      const placement = await carbonPlacement({ destinations: ring.map((i) => destinations[i]!), names, hashType: 'carbon_ch' });
      return new Map(names.map((n, i) => [n, ring[placement[i]![0]!]!]));
    };
    const value = (m: string): Array<[number, number]> => [[now - 5, Number(m.slice(m.lastIndexOf('.m') + 2))]];

    const before = await phase('before', [0, 1, 2]);
    await assertStoredOn(carbons, before, value);

    await carbons[1]!.stop();
    // Sent while b is down: at first queued for b, then moved when b leaves the ring.
    const down = await phase('down', [0, 2]);
    await relay.waitForLog(new RegExp(`Removing ${escape(destinations[1]!)} from the hash ring after 3 failed reconnects`));
    await assertStoredOn(carbons, down, value);
    const meantForB = (await carbonPlacement({ destinations, names: [...down.keys()], hashType: 'carbon_ch' })).filter((p) => p[0] === 1).length;
    assert.ok(meantForB > 0, 'some of the points sent while b was down were meant for b');

    await carbons[1]!.start();
    await relay.waitForLog(new RegExp(`Destination ${escape(destinations[1]!)} rejoined the hash ring`));
    const back = await phase('back', [0, 1, 2]);
    assert.ok([...back.values()].includes(1), 'new points are meant for b again');
    await assertStoredOn(carbons, back, value);
  } finally {
    await stream?.close();
    await relay?.stop();
    await Promise.all(carbons.map((c) => c.stop()));
  }
});

test('hash-route, replication 2: a stopped carbon-cache keeps its place in the ring, its share arrives when it is back', async () => {
  const carbons = await startCarbons(['a', 'b', 'c'], ['127.0.0.1', '127.0.0.2', '127.0.0.3']);
  const destinations = carbons.map((c, i) => `${c.address}:${'abc'[i]}`);
  let relay: ListenerProcess | undefined;
  let stream: GraphiteStream | undefined;
  try {
    relay = await startRelay(['-destinations', destinations.join(','), '-distribution', 'hash-route', '-replication-factor', '2', '-flush-interval', '50ms']);
    stream = await openGraphiteStream(relay.port);
    const now = Math.floor(Date.now() / 1000);
    const names = Array.from({ length: PER_PHASE }, (_, i) => `replicas.down.m${i}`);
    await carbons[1]!.stop();
    await stream.send(names.map((n, i) => `${n} ${i} ${now - 5}`));
    await relay.waitForLog(new RegExp(`Destination ${escape(destinations[1]!)} unreachable after 3 failed reconnects: it keeps its place in the hash ring`));
    await carbons[1]!.start();
    // Every point on both carbons of the whole ring, b's share included, and on no other.
    const placement = await carbonPlacement({ destinations, names, hashType: 'carbon_ch', replication: 2 });
    assert.ok(
      placement.some((p) => p.includes(1)),
      'some points are meant for b',
    );
    await assertStoredOn(carbons, new Map(names.map((n, i) => [n, placement[i]!])), (m) => [[now - 5, Number(m.slice(m.lastIndexOf('.m') + 2))]]);
    assert.doesNotMatch(relay.stderr(), /Removing .* from the hash ring/);
  } finally {
    await stream?.close();
    await relay?.stop();
    await Promise.all(carbons.map((c) => c.stop()));
  }
});

test('hash-route, replication 2: an unreachable destination leaves the ring once its queue is full, the others get every point', async () => {
  const [a, c] = [await startTcpSink(0, '127.0.0.1'), await startTcpSink(0, '127.0.0.3')];
  const down = `127.0.0.2:${await freePort()}:b`;
  let relay: ListenerProcess | undefined;
  let stream: GraphiteStream | undefined;
  try {
    const destinations = [`${a.address}:a`, down, `${c.address}:c`];
    relay = await startRelay([
      '-destinations',
      destinations.join(','),
      '-distribution',
      'hash-route',
      '-replication-factor',
      '2',
      '-flush-interval',
      '50ms',
      '-outgoing-queue-cap',
      '300',
      '-batch-size',
      '100',
    ]);
    stream = await openGraphiteStream(relay.port);
    await relay.waitForLog(new RegExp(`Destination ${escape(down)} unreachable after 3 failed reconnects: it keeps its place`));
    const names = Array.from({ length: 3000 }, (_, i) => `replicas.full.m${i}`);
    // The send completes only once the relay reads on: b's full queue must not hold it up for good.
    const sent = stream.send(names.map((n, i) => `${n} ${i} 1700000000`));
    await relay.waitForLog(new RegExp(`Removing ${escape(down)} from the hash ring because its queue is full while it is unreachable`), 15_000);
    await sent;
    // With b out, the ring is a and c: both hold every point (b's queued share handed over).
    await Promise.all([a, c].map((s) => until('every name on a and c', () => new Set(s.lines.map((l) => l.split(' ')[0])).size === names.length, 15_000)));
    assert.equal(await scrapeCounter(relay.statPort, 'polymur_points_dropped_total'), 0);
  } finally {
    await stream?.close();
    await relay?.stop();
    await a.close();
    await c.close();
  }
});

test('broadcast: a destination that is down keeps its queue without holding up the other, and gets it all on return', async () => {
  const up = await startTcpSink();
  let down: TcpSink = await startTcpSink();
  const downPort = down.port;
  let relay: ListenerProcess | undefined;
  let stream: GraphiteStream | undefined;
  try {
    // Without the resend window: what reached the closed sink's socket counts as delivered, so
    // the returning destination gets each missed point exactly once (the window is tested in
    // test/faults/destinations.test.ts).
    relay = await startRelay(['-destinations', `${up.address},${down.address}`, '-flush-interval', '50ms', '-resend-window', '0']);
    stream = await openGraphiteStream(relay.port);
    const lines = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `broadcast.m${from + i} ${from + i} 1700000000`);
    await stream.send(lines(0, 1000));
    await Promise.all([up.waitForLines(1000), down.waitForLines(1000)]);
    const before = [...down.lines];
    await down.close();

    await stream.send(lines(1000, 2000));
    // The live destination is not held up by the dead one.
    await up.waitForLines(3000);
    await relay.waitForLog(new RegExp(`Destination ${escape(`127.0.0.1:${downPort}`)} queue length: 2000`), 15_000);

    down = await startTcpSink(downPort);
    await down.waitForLines(2000);
    await until('nothing more arrives late', async () => (await scrapeCounter(relay!.statPort, 'polymur_queue_points')) === 0, 10_000);
    assert.deepEqual([...before, ...down.lines], lines(0, 3000), 'the returning destination got every missed point, once, in order');
    assert.deepEqual(up.lines, lines(0, 3000));
  } finally {
    await stream?.close();
    await relay?.stop();
    await up.close();
    await down.close();
  }
});

test('hash-route with every destination down: nothing is lost, the first one back receives it all', async () => {
  const ports = [await freePort(), await freePort()];
  const [a, b] = ports.map((p, i) => `127.0.0.1:${p}:${'ab'[i]}`) as [string, string];
  let relay: ListenerProcess | undefined;
  let stream: GraphiteStream | undefined;
  let sink: TcpSink | undefined;
  try {
    relay = await startRelay(['-destinations', `${a},${b}`, '-distribution', 'hash-route', '-flush-interval', '50ms']);
    stream = await openGraphiteStream(relay.port);
    const lines = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `alldown.m${from + i} ${from + i} 1700000000`);
    await stream.send(lines(0, 300));
    await Promise.all([a, b].map((d) => relay!.waitForLog(new RegExp(`Removing ${escape(d)} from the hash ring`), 15_000)));
    // Sent while the ring is empty: held back, not dropped.
    await stream.send(lines(300, 300));

    sink = await startTcpSink(ports[0]);
    await relay.waitForLog(new RegExp(`Destination ${escape(a)} rejoined the hash ring`), 15_000);
    await sink.waitForLines(600, 15_000);
    assert.deepEqual([...sink.lines].sort(), lines(0, 600).sort());
  } finally {
    await stream?.close();
    await relay?.stop();
    await sink?.close();
  }
});
