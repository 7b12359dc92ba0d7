// -metrics-flush N: every N seconds a program's own figures enter its pipeline as Graphite lines
// and reach its destinations under the original runtime-stats writer's names, with figures measured.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { openGraphiteStream } from '../helpers/graphite-stream.js';
import { until } from '../helpers/points.js';
import type { RunningProgram } from '../../harness/programs.js';
import { startGateway, startRelay, type ListenerProcess } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

const FLAGS = ['-metrics-flush', '1', '-incoming-queue-cap', '1234', '-outgoing-queue-cap', '4321'];

/** The latest value a program flushed under `<host>.polymur.<name>`. */
function latest(sink: TcpSink, name: string): number | undefined {
  const prefix = `${hostname().replace(/\./g, '_')}.polymur.${name} `;
  const line = sink.lines.filter((l) => l.startsWith(prefix)).pop();
  return line === undefined ? undefined : Number(line.split(' ')[1]);
}

/**
 * Every original name is there, with the limits the flags set, as well-formed lines stamped now;
 * but no `incoming-queue.*`: there is no such queue (-incoming-queue-cap is accepted and has no
 * effect), and a figure that could only be a literal is not reported.
 */
async function checkFlushed(sink: TcpSink): Promise<void> {
  const dest = sink.address.replace(/\./g, '_');
  await until('a full flush', () => latest(sink, `outgoing-queue.${dest}.limit`) !== undefined, 10_000);
  for (const name of ['Alloc', 'Sys', 'HeapAlloc', 'HeapSys', 'HeapIdle', 'HeapInuse']) {
    assert.equal(typeof latest(sink, `runtime.${name}`), 'number', `runtime.${name} flushed`);
  }
  assert.ok(latest(sink, 'runtime.Sys')! > 0);
  assert.equal(typeof latest(sink, 'rate'), 'number');
  assert.equal(sink.lines.filter((l) => l.includes('.polymur.incoming-queue.')).length, 0, 'no incoming-queue figures');
  assert.equal(typeof latest(sink, `outgoing-queue.${dest}.current-size`), 'number');
  assert.equal(latest(sink, `outgoing-queue.${dest}.limit`), 4321);
  const now = Date.now() / 1000;
  for (const line of sink.lines.filter((l) => l.includes('.polymur.'))) {
    const fields = line.split(' ');
    assert.equal(fields.length, 3, line);
    assert.ok(Number.isFinite(Number(fields[1])), line);
    assert.ok(Math.abs(Number(fields[2]) - now) < 30, `${line}: timestamp is now`);
  }
}

test('relay -metrics-flush: rate, runtime memory, per-destination outgoing queue size (measured: a destination that is down holds what was sent) and limit as Graphite lines, no incoming-queue figures', async () => {
  const sink = await startTcpSink();
  // An address where nothing listens: the relay queues for it everything it broadcasts.
  const gone = await startTcpSink();
  await gone.close();
  let relay: ListenerProcess | undefined;
  try {
    relay = await startRelay(['-destinations', `${sink.address},${gone.address}`, '-flush-interval', '50ms', '-shutdown-timeout', '1s', ...FLAGS]);
    const stream = await openGraphiteStream(relay.port);
    await stream.send(Array.from({ length: 500 }, (_, i) => `flush.test.m${i} ${i} 1700000000`));
    await stream.close();
    // The rate covers the relay's last 5 s interval: wait for the flush after the one that saw the points.
    await until('a flushed rate above 0', () => (latest(sink, 'rate') ?? 0) > 0, 15_000);
    assert.ok(latest(sink, 'rate')! <= 500, `rate ${latest(sink, 'rate')} is points per second`);
    await checkFlushed(sink);
    // The queue sizes are the queues' own: the 500 points wait in the down destination's queue
    // (with the self-metrics flushed since), while the destination that reads them has drained.
    const size = (address: string): number => latest(sink, `outgoing-queue.${address.replace(/\./g, '_')}.current-size`) ?? -1;
    await until('the down destination holding the 500 points', () => size(gone.address) >= 500, 15_000);
    await until('the live destination drained', () => size(sink.address) < 500, 15_000);
    assert.ok(size(gone.address) <= 500 + sink.lines.length, `${size(gone.address)} queued for the down destination`);
  } finally {
    await relay?.stop();
    await sink.close();
  }
});

test('gateway -metrics-flush: the same lines reach its destination', async () => {
  const sink = await startTcpSink();
  let gateway: RunningProgram | undefined;
  try {
    gateway = await startGateway({ args: ['-destinations', sink.address, ...FLAGS] });
    await checkFlushed(sink);
  } finally {
    await gateway?.stop();
    await sink.close();
  }
});
