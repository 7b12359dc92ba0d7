// -metrics-flush N: every N seconds the relay's own figures enter its pipeline as Graphite lines
// and reach its destinations under the original runtime-stats writer's names.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { openGraphiteStream } from '../helpers/graphite-stream.js';
import { until } from '../helpers/points.js';
import { startRelay, type ListenerProcess } from '../helpers/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

test('-metrics-flush: rate, runtime memory, incoming and per-destination outgoing queue size and limit arrive as Graphite lines', async () => {
  const sink = await startTcpSink();
  let relay: ListenerProcess | undefined;
  try {
    relay = await startRelay([
      '-destinations', sink.address, '-metrics-flush', '1', '-incoming-queue-cap', '1234', '-outgoing-queue-cap', '4321', '-flush-interval', '50ms',
    ]);
    const stream = await openGraphiteStream(relay.port);
    await stream.send(Array.from({ length: 500 }, (_, i) => `flush.test.m${i} ${i} 1700000000`));
    await stream.close();

    const host = hostname().replace(/\./g, '_');
    const dest = sink.address.replace(/\./g, '_');
    /** The latest value flushed under a name. */
    const latest = (name: string): number | undefined => {
      const line = sink.lines.filter((l) => l.startsWith(`${host}.polymur.${name} `)).pop();
      return line === undefined ? undefined : Number(line.split(' ')[1]);
    };
    // The rate covers the relay's last 5 s interval: wait for the flush after the one that saw the points.
    await until('a flushed rate above 0', () => (latest('rate') ?? 0) > 0, 15_000);

    for (const name of ['Alloc', 'Sys', 'HeapAlloc', 'HeapSys', 'HeapIdle', 'HeapInuse']) {
      assert.equal(typeof latest(`runtime.${name}`), 'number', `runtime.${name} flushed`);
    }
    assert.ok(latest('runtime.Sys')! > 0);
    assert.equal(latest('incoming-queue.current-size'), 0);
    assert.equal(latest('incoming-queue.limit'), 1234);
    assert.equal(typeof latest(`outgoing-queue.${dest}.current-size`), 'number');
    assert.equal(latest(`outgoing-queue.${dest}.limit`), 4321);
    // 500 points over the 5 s interval the relay measured.
    assert.ok(latest('rate')! <= 500, `rate ${latest('rate')} is points per second`);

    const now = Date.now() / 1000;
    const own = sink.lines.filter((l) => l.startsWith(`${host}.polymur.`));
    for (const line of own) {
      const fields = line.split(' ');
      assert.equal(fields.length, 3, line);
      assert.ok(Number.isFinite(Number(fields[1])), line);
      assert.ok(Math.abs(Number(fields[2]) - now) < 30, `${line}: timestamp is now`);
    }
  } finally {
    await relay?.stop();
    await sink.close();
  }
});
