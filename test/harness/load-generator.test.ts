// The load generator builds its whole load ahead: the bytes must be the load the bench always sent
// (same names, ids, timestamps, chunks of 1,000 lines), and sending must deliver them all, in order
// on each connection, through real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { prepareLoad, sendPrepared } from '../../harness/load-generator.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('the prepared load is byte for byte the load of the chunk-by-chunk generator it replaced', () => {
  const load = prepareLoad({ connections: 4, points: 10_000, seed: 1, baseTimestamp: 1_700_000_000 });
  // SHA-256 of each connection's 2,500 lines as written by the generator before it built ahead
  // (buildChunk per 1,000 lines, seed 1, base timestamp 1,700,000,000).
  assert.deepEqual(
    load.map((c) => sha256(c.bytes)),
    [
      'f73769d4e9b4f68f1ce4be7c0c48daf97386534d07833d62bab5286643156c0f',
      '2d90bdabdd136831db1e28cd01372e34b330321e654c87f95821423b31d33fb0',
      'e32ac586c22794c698338000f52398b46153435349ee0145f3da40153e1cf7e0',
      'fe7089a0335ef32d767ea7c8c5652935db0f0ffcd19f4ba5783fdf0e5a4fc0b9',
    ],
  );
  for (const c of load) {
    assert.equal(c.lines, 2500);
    assert.equal(c.chunkEnds.at(-1), c.bytes.length, 'the chunks cover the bytes exactly');
    let from = 0;
    for (const [k, to] of c.chunkEnds.entries()) {
      const chunk = c.bytes.subarray(from, to);
      assert.equal(chunk.at(-1), 0x0a, 'a chunk ends at a line end');
      assert.equal(chunk.toString('latin1').split('\n').length - 1, k < 2 ? 1000 : 500, 'lines in chunk');
      from = to;
    }
  }
});

test('an uneven split: the last connection gets the remainder, an empty one sends nothing', () => {
  assert.deepEqual(
    prepareLoad({ connections: 3, points: 2500 }).map((c) => c.lines),
    [834, 834, 832],
  );
  assert.deepEqual(
    prepareLoad({ connections: 4, points: 3 }).map((c) => c.lines),
    [1, 1, 1, 0],
  );
});

test('sendPrepared delivers every line once, in order per connection, and reports each chunk as it is written', async () => {
  const sink = await startTcpSink();
  try {
    const points = 9000;
    const load = prepareLoad({ connections: 3, points, baseTimestamp: 1_700_000_000 });
    const chunks: string[] = [];
    const result = await sendPrepared(load, {
      port: sink.port,
      ratePerSecond: 60_000,
      onChunk: (connection, firstSeq, count) => chunks.push(`${connection}:${firstSeq}:${count}`),
    });
    assert.equal(result.sent, points);
    assert.ok(result.elapsedMs >= 100, `paced at 60,000 points/s, 9,000 points took ${result.elapsedMs} ms`);
    assert.deepEqual(chunks.sort(), ['0:0:1000', '0:1000:1000', '0:2000:1000', '1:0:1000', '1:1000:1000', '1:2000:1000', '2:0:1000', '2:1000:1000', '2:2000:1000']);
    await sink.waitForLines(points, 10_000);
    const perConnection = new Map<number, string[]>();
    for (const line of sink.lines) {
      const connection = Math.floor(Number(line.split(' ')[1]) / 1e9);
      if (!perConnection.has(connection)) perConnection.set(connection, []);
      perConnection.get(connection)!.push(line);
    }
    for (const [connection, c] of load.entries()) {
      assert.equal(perConnection.get(connection)?.join('\n') + '\n', c.bytes.toString('latin1'), `connection ${connection}`);
    }
  } finally {
    await sink.close();
  }
});
