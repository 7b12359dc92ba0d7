// The original's queue report in the log: `Destination X queue length: N` while points wait for a
// destination, `queue is at capacity` when it is full; and a full queue holds points, it drops none.
import { test } from 'node:test';
import { freePort } from '../helpers/carbon.js';
import { openGraphiteStream, type GraphiteStream } from '../helpers/graphite-stream.js';
import { startRelay, type ListenerProcess } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';
import assert from 'node:assert/strict';

test('queue length and at-capacity log lines for a down destination; its points arrive once it is up', async () => {
  const port = await freePort();
  const dest = `127.0.0.1:${port}`;
  let relay: ListenerProcess | undefined;
  let stream: GraphiteStream | undefined;
  let sink: TcpSink | undefined;
  try {
    relay = await startRelay(['-destinations', dest, '-outgoing-queue-cap', '100', '-flush-interval', '50ms']);
    stream = await openGraphiteStream(relay.port);
    const lines = (from: number, n: number): string[] => Array.from({ length: n }, (_, i) => `queue.m${from + i} ${from + i} 1700000000`);
    await stream.send(lines(0, 60));
    await relay.waitForLog(new RegExp(`Destination ${dest.replace(/\./g, '\\.')} queue length: 60\\n`), 12_000);
    await stream.send(lines(60, 60));
    await relay.waitForLog(new RegExp(`Destination ${dest.replace(/\./g, '\\.')} queue is at capacity \\(100\\)`), 12_000);

    sink = await startTcpSink(port);
    await sink.waitForLines(120, 20_000);
    assert.deepEqual(sink.lines, lines(0, 120));
  } finally {
    await stream?.close();
    await relay?.stop();
    await sink?.close();
  }
});
