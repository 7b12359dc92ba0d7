// -replication-factor 2: each point goes to the two destinations carbon's relay picks (distinct
// hosts: carbon's default DIVERSE_REPLICAS), checked against carbon's own router.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { carbonPlacement } from '../helpers/carbon-ring.js';
import { openGraphiteStream } from '../helpers/graphite-stream.js';
import { until } from '../helpers/points.js';
import { startRelay, type ListenerProcess } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

const NAMES = 2000;

for (const hashType of ['carbon_ch', 'fnv1a_ch'] as const) {
  test(`${hashType}, replication 2 over three hosts: every point reaches exactly the two destinations carbon names`, async () => {
    const sinks: TcpSink[] = [];
    let relay: ListenerProcess | undefined;
    try {
      // Three hosts (loopback addresses) with instances, and a second instance on the first host.
      for (const host of ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.1']) sinks.push(await startTcpSink(0, host));
      const destinations = sinks.map((s, i) => `${s.address}:${'abcd'[i]}`);
      relay = await startRelay([
        '-destinations',
        destinations.join(','),
        '-distribution',
        'hash-route',
        '-hash-type',
        hashType,
        '-replication-factor',
        '2',
        '-flush-interval',
        '50ms',
      ]);
      const names = Array.from({ length: NAMES }, (_, i) => `replicated.${hashType}.host-${i % 31}.m${i}`);
      const stream = await openGraphiteStream(relay.port);
      await stream.send(names.map((n, i) => `${n} ${i} 1700000000`));
      await stream.close();
      await until('two copies of every point', () => sinks.reduce((n, s) => n + s.lines.length, 0) >= 2 * NAMES, 15_000);

      const placement = await carbonPlacement({ destinations, names, hashType, replication: 2 });
      const got = new Map<string, number[]>();
      sinks.forEach((s, i) => {
        for (const line of s.lines) {
          const name = line.split(' ')[0]!;
          got.set(name, [...(got.get(name) ?? []), i]);
        }
      });
      const wrong = names.filter((n, i) => [...(got.get(n) ?? [])].sort().join() !== [...placement[i]!].sort().join());
      assert.deepEqual(
        wrong.slice(0, 5).map((n) => `${n}: got ${got.get(n)}, carbon ${placement[names.indexOf(n)]}`),
        [],
        `${wrong.length} misplaced`,
      );
      assert.ok(
        placement.every((p) => p.length === 2),
        'carbon itself places two copies',
      );
      assert.ok(
        sinks.every((s) => s.lines.length > 0),
        'every destination holds some copies',
      );
    } finally {
      await relay?.stop();
      for (const s of sinks) await s.close();
    }
  });
}
