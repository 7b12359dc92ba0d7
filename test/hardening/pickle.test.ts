// The pickle listener in a real polymur relay, a TCP sink behind it: frames carbon's way from a
// well-behaved client (whole, byte by byte, several in one write) all arrive, while hostile clients
// on other connections — a length far over -max-pickle-bytes, a frame that would run code, a memo
// bomb — are each cut off, counted by reason, with memory flat; and a full queue pauses the
// socket instead of dropping (backpressure, as plaintext).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { freePort } from '../helpers/carbon.js';
import { carbonFrames, framed } from '../helpers/carbon-pickle.js';
import { peakRssMb, scrapeCounter, until } from '../helpers/points.js';
import { startRelay, type RelayProcess } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

const FRAMES = 40;
const POINTS_PER_FRAME = 500;

async function picklePort(relay: RelayProcess): Promise<number> {
  return Number((await relay.waitForLog(/Pickle listener started: \S+:(\d+)/))[1]);
}

async function open(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => {});
  socket.resume();
  // Not events.once: it rejects on the 'error' (EPIPE) a writer to a cut connection gets.
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await once(socket, 'connect');
  return { socket, closed };
}

/** FRAMES frames of POINTS_PER_FRAME points, `pickle.f<frame>.p<point>` with the value frame*1000+point. */
async function wellBehavedFrames(): Promise<Buffer[]> {
  const frames = await carbonFrames(
    Object.fromEntries(
      Array.from({ length: FRAMES }, (_, f) => [`f${f}`, `[('pickle.f${f}.p%d' % p, (1700000000 + p, ${f} * 1000 + p + 0.5)) for p in range(${POINTS_PER_FRAME})]`]),
    ),
  );
  return frames.map((f) => framed(f.frame));
}

function assertAllArrived(sink: TcpSink): void {
  const seen = new Set(sink.lines);
  assert.equal(seen.size, sink.lines.length, 'no duplicates');
  for (let f = 0; f < FRAMES; f++) {
    for (let p = 0; p < POINTS_PER_FRAME; p++) {
      const line = `pickle.f${f}.p${p} ${f * 1000 + p + 0.5} ${1700000000 + p}`;
      if (!seen.has(line)) assert.fail(`missing: ${line}`);
    }
  }
}

async function writeAll(socket: Socket, data: Buffer): Promise<void> {
  if (!socket.write(data)) await once(socket, 'drain');
}

test('hostile pickle clients are cut off and counted by reason while a well-behaved one loses nothing', async () => {
  const sink = await startTcpSink();
  const relay = await startRelay(['-destinations', sink.address, '-listen-pickle', '127.0.0.1:0', '-max-pickle-bytes', '262144', '-flush-interval', '50ms']);
  try {
    const port = await picklePort(relay);
    const frames = await wellBehavedFrames();
    const good = await open(port);
    // A third whole, a third one byte at a time (one frame), the rest all in one write.
    const third = Math.floor(FRAMES / 3);
    for (const frame of frames.slice(0, third)) await writeAll(good.socket, frame);
    for (const byte of frames[third]!) await writeAll(good.socket, Buffer.from([byte]));

    const before = peakRssMb(relay.proc.pid!);
    // A length of 2 GiB: refused on its header, before any of it is read or held.
    const huge = await open(port);
    const header = Buffer.alloc(4);
    header.writeUInt32BE(2 ** 31);
    huge.socket.write(header);
    const piece = Buffer.alloc(64 * 1024, 0x58);
    for (let i = 0; i < 64 && !huge.socket.destroyed; i++) huge.socket.write(piece);
    await huge.closed;
    // os.system through GLOBAL and REDUCE.
    const code = await open(port);
    code.socket.write(framed(Buffer.from('\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x00\x85q\x01Rq\x02.', 'latin1')));
    await code.closed;
    // A 16 KiB path memoised, then repeated by 2-byte BINGETs: gigabytes of plaintext from 216 KB.
    const path = Buffer.alloc(16 * 1024, 0x70);
    const lengthLE = Buffer.alloc(4);
    lengthLE.writeUInt32LE(path.length);
    const gets = Buffer.alloc(200_000);
    for (let i = 0; i < gets.length; i += 2) gets.set([0x68, 3], i);
    const bomb = Buffer.concat([
      Buffer.from('\x80\x02]q\x00(X', 'latin1'),
      lengthLE,
      path,
      Buffer.from('q\x01J\x00\xf1SeK\x01\x86q\x02\x86q\x03', 'latin1'),
      gets,
      Buffer.from('e.'),
    ]);
    const memo = await open(port);
    memo.socket.write(framed(bomb));
    await memo.closed;
    const after = peakRssMb(relay.proc.pid!);

    await writeAll(good.socket, Buffer.concat(frames.slice(third + 1)));
    good.socket.end();
    await until('every well-behaved point at the sink', () => sink.lines.length >= FRAMES * POINTS_PER_FRAME, 30_000);
    assertAllArrived(sink);
    const text = await (await fetch(`http://127.0.0.1:${relay.statPort}/metrics`)).text();
    for (const reason of ['too_large', 'opcode', 'expansion']) assert.match(text, new RegExp(`polymur_pickle_frames_refused_total\\{reason="${reason}"\\} 1\n`));
    assert.equal(await scrapeCounter(relay.statPort, 'polymur_pickle_frames_refused_total'), 3);
    assert.equal(await scrapeCounter(relay.statPort, 'polymur_points_invalid_total'), 0);
    assert.ok(after - before < 40, `relay peak RSS grew by ${(after - before).toFixed(1)} MB under the hostile frames`);
    console.log(
      `# ${FRAMES * POINTS_PER_FRAME} well-behaved points in ${FRAMES} frames: ${sink.lines.length} arrived, 0 missing, 0 duplicated; refused: too_large 1, opcode 1, expansion 1; relay peak RSS ${before} -> ${after} MB`,
    );
  } finally {
    await relay.stop();
    await sink.close();
  }
});

test('a full queue pauses the pickle connection (backpressure): nothing is dropped', async () => {
  // The destination is down at first, with a small queue: the relay stops reading the sender.
  const destination = await freePort();
  const relay = await startRelay([
    '-destinations',
    `127.0.0.1:${destination}`,
    '-listen-pickle',
    '127.0.0.1:0',
    '-outgoing-queue-cap',
    '1000',
    '-batch-size',
    '500',
    '-flush-interval',
    '20ms',
  ]);
  let sink: TcpSink | undefined;
  try {
    const port = await picklePort(relay);
    const frames = await wellBehavedFrames();
    const good = await open(port);
    const writing = (async () => {
      for (const frame of frames) await writeAll(good.socket, frame);
      good.socket.end();
    })();
    await relay.waitForLog(/queue is at capacity/, 15_000);
    // Paused: the relay read what its queue and batcher hold (1,000 and 500) and at most one more
    // socket read (64 KiB, under 4 frames), not all that was sent.
    const read = await scrapeCounter(relay.statPort, 'polymur_points_received_total');
    assert.ok(read <= 1_500 + 4 * POINTS_PER_FRAME, `${read} points read while the queue was full`);
    sink = await startTcpSink(destination);
    await writing;
    const s = sink;
    await until('every point at the sink', () => s.lines.length >= FRAMES * POINTS_PER_FRAME, 30_000);
    assertAllArrived(s);
    assert.equal(await scrapeCounter(relay.statPort, 'polymur_points_dropped_total'), 0);
    console.log(`# pickle sender paused at ${read} of ${FRAMES * POINTS_PER_FRAME} points while the destination was down; all ${s.lines.length} arrived after, none dropped`);
  } finally {
    await relay.stop();
    await sink?.close();
  }
});
