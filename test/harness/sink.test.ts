// The bench's counting sink, as the bench runs it (its own process, real TCP): every line counted
// exactly once as first, repeated or foreign, whatever the reads cut, and first arrivals recorded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareLoad } from '../../harness/load-generator.js';
import { startSink, type Sink, type SinkReport } from '../../harness/sink-process.js';

const PER_CONNECTION = 1000;

/** Polls the sink until it has read `lines` lines; fails after the deadline. */
async function reportAt(sink: Sink, lines: number, deadlineMs = 10_000): Promise<SinkReport> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    const report = await sink.report();
    if (report.lines >= lines) return report;
    if (Date.now() > deadline) throw new Error(`sink read ${report.lines} of ${lines} lines`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** The index after the n-th LF of `bytes`. */
function nthLineEnd(bytes: Buffer, n: number): number {
  let at = 0;
  for (let i = 0; i < n; i++) at = bytes.indexOf(0x0a, at) + 1;
  return at;
}

async function write(socket: Socket, data: Buffer | string): Promise<void> {
  if (!socket.write(data)) await once(socket, 'drain');
}

test('the sink counts first, repeated and foreign lines exactly, across any cut between reads', async () => {
  const sink = await startSink(2, PER_CONNECTION);
  const dir = mkdtempSync(join(tmpdir(), 'polymur-sink-test-'));
  const sockets: Socket[] = [];
  try {
    const [all, half] = prepareLoad({ connections: 2, points: 2 * PER_CONNECTION, baseTimestamp: 1_700_000_000 });
    const a = connect(sink.port, '127.0.0.1');
    const b = connect(sink.port, '127.0.0.1');
    sockets.push(a, b);
    await Promise.all([once(a, 'connect'), once(b, 'connect')]);

    // Connection 0's 1,000 points whole (about 60 KB: the reads cut it where they will), and the
    // first 500 of connection 1's.
    await write(a, all!.bytes);
    const halfLines = PER_CONNECTION / 2;
    await write(b, half!.bytes.subarray(0, nthLineEnd(half!.bytes, halfLines)));
    let lines = PER_CONNECTION + halfLines;
    await reportAt(sink, lines);

    // A line cut in its value and in its timestamp, in three writes: carried over the reads.
    const cut = 'collectd.host-1.cpu-0.cpu-idle.1 1000000999 1700000000\n';
    await write(b, `a.whole.line 1000000998 1700000000\n${cut.slice(0, 38)}`);
    await reportAt(sink, ++lines);
    await write(b, cut.slice(38, 50));
    await write(b, cut.slice(50));
    await reportAt(sink, ++lines);

    // Connection 0's first ten points again.
    await write(a, all!.bytes.subarray(0, nthLineEnd(all!.bytes, 10)));

    const foreign = [
      'a.name 12x 1700000000', // a value that is not digits
      'a.name 2000000000 1700000000', // connection 2 of 2
      'a.name 1000001000 1700000000', // sequence 1,000 of 1,000
      'a.name -5 1700000000',
      `a.name ${'9'.repeat(400)} 1700000000`, // too long for a double
      '5 1700000000', // no name before the value
      'nospace',
      '',
    ];
    await write(b, foreign.map((l) => `${l}\n`).join(''));
    lines += 10 + foreign.length;
    const report = await reportAt(sink, lines);
    assert.deepEqual(
      { lines: report.lines, distinct: report.distinct, duplicates: report.duplicates, foreign: report.foreign },
      { lines, distinct: PER_CONNECTION + halfLines + 2, duplicates: 10, foreign: foreign.length },
    );

    await sink.dump(join(dir, 'arrived.bin'));
    const arrived = new Float64Array(readFileSync(join(dir, 'arrived.bin')).buffer.slice(0));
    const missing = [...arrived.keys()].filter((i) => !(arrived[i]! > 0));
    const expectedMissing = Array.from({ length: PER_CONNECTION }, (_, s) => PER_CONNECTION + s).filter((i) => i - PER_CONNECTION >= halfLines && i !== 1998 && i !== 1999);
    assert.deepEqual(missing, expectedMissing, 'every point that came has its first arrival, the others none');
  } finally {
    for (const s of sockets) s.destroy();
    await sink.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
