// A destination of this host that reads slower than the relay writes: the kernel would let the
// connection hold its socket buffers' autotuned maxima unread (4 + 32 MiB on the development
// machine) and the resend window keep a copy of all of it. The writer waits instead while the
// connection holds -max-unread-bytes unread (unread-cap.ts; 2 MiB here, below what the kernel lets a
// connection to this sink hold, 10-14 MiB in these runs), so the window stays at the cap and the
// 4 MiB it keeps of what was read; every point still arrives when the destination is killed with
// data unread and started again. A destination that stops reading while the connection is at the
// cap is found stuck within the write timeout, even where its receive buffer took everything (our
// send queue empty, so the watchdog alone would see nothing), and gets everything when it reads again.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sendLoad } from '../../harness/load-generator.js';
import { startRelay, type RelayProcess } from '../../harness/system.js';
import { until } from '../../harness/wait.js';
import { delivery, scrapeCounter } from '../helpers/points.js';
import { scrape } from '../helpers/prometheus.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';
import { unreadIsCheap } from '../../src/net/send-queue.js';

const MiB = 1024 * 1024;
const MAX_UNREAD = 2 * MiB;
/** The window's most: the cap, the 4 MiB kept of what was read (window-trim.ts), and a batch and a look's worth of slack. */
const WINDOW_MOST = MAX_UNREAD + 4 * MiB + 2 * MiB;
const CONNECTIONS = 2;
const POINTS = 700_000;
const BASE_ARGS = ['-flush-interval', '50ms', '-write-timeout', '2s', '-outgoing-queue-cap', String(POINTS), '-shutdown-timeout', '2s'];
const RELAY_ARGS = ['-max-unread-bytes', String(MAX_UNREAD), ...BASE_ARGS];
const skip = !unreadIsCheap && 'the sock_diag addon is not built';

/** Reads in bursts, `onMs` of every 100 ms, so that it falls behind a relay writing flat out; the returned function ends the bursts, reading. */
function readInBursts(sink: TcpSink, onMs: number): () => void {
  let pausing: ReturnType<typeof setTimeout> | undefined;
  const timer = setInterval(() => {
    sink.resume();
    pausing = setTimeout(() => sink.pause(), onMs);
    pausing.unref();
  }, 100);
  timer.unref();
  return () => {
    clearInterval(timer);
    clearTimeout(pausing);
    sink.resume();
  };
}

async function windowFigures(relay: RelayProcess, sink: TcpSink): Promise<{ peak: number; uncovered: number; written: number }> {
  const m = await scrape(relay.statPort);
  const labels = { destination: sink.address };
  return {
    peak: m.value('polymur_resend_window_peak_bytes', labels),
    uncovered: m.value('polymur_resend_window_uncovered_points_total', labels),
    written: m.value('polymur_bytes_written_total', labels),
  };
}

test('a slow local destination: the connection holds at most the cap unread, the window stays under it, and a kill with data unread loses nothing', { skip }, async (t) => {
  const first = await startTcpSink();
  let second: TcpSink | undefined;
  const relay = await startRelay(['-destinations', first.address, ...RELAY_ARGS]);
  try {
    const stopBursts = readInBursts(first, 15);
    const sending = sendLoad({ port: relay.port, connections: CONNECTIONS, points: POINTS });
    await first.waitForLines(POINTS * 0.7, 60_000);
    stopBursts();
    // Killed with what it has not read in its socket buffers; started again on the same port.
    first.pause();
    const before = await windowFigures(relay, first);
    await first.close();
    second = await startTcpSink(first.port);
    await sending;
    const all = (): string[] => [...first.lines, ...second!.lines];
    await until('every point at the destination', () => delivery(all(), CONNECTIONS, POINTS).missing === 0, 60_000);
    const d = delivery(all(), CONNECTIONS, POINTS);
    const resent = await scrapeCounter(relay.statPort, 'polymur_destination_resent_points_total');
    t.diagnostic(
      `${POINTS} points sent, ${d.arrived} arrived, ${d.missing} missing, ${d.duplicated} duplicated, ${resent} resent; before the kill: ${before.written} bytes written, window peak ${before.peak} bytes (at most ${WINDOW_MOST}), ${before.uncovered} points let go of uncovered`,
    );
    assert.ok(before.written > 2 * WINDOW_MOST, `${before.written} bytes written before the kill: the connection could have held more than the cap`);
    assert.ok(before.peak > MAX_UNREAD && before.peak <= WINDOW_MOST, `the window's peak: ${before.peak} bytes`);
    assert.equal(before.uncovered, 0);
    assert.equal(d.missing, 0);
    assert.ok(resent > 0, 'what the killed destination had not read was written again');
  } finally {
    await relay.stop();
    await first.close();
    await second?.close();
  }
});

test('a local destination that stops reading at the cap is found stuck within the write timeout and gets every point once it reads again', { skip }, async (t) => {
  const sink = await startTcpSink();
  const relay = await startRelay(['-destinations', sink.address, ...RELAY_ARGS]);
  try {
    const sending = sendLoad({ port: relay.port, connections: CONNECTIONS, points: POINTS });
    // Read at full speed first (its receive buffer grows), then not at all.
    await sink.waitForLines(POINTS / 4, 60_000);
    sink.pause();
    const stoppedAt = Date.now();
    await until('the destination is found stuck', async () => (await scrapeCounter(relay.statPort, 'polymur_destination_write_timeouts_total')) >= 1, 15_000);
    const foundAfterMs = Date.now() - stoppedAt;
    const { peak } = await windowFigures(relay, sink);
    sink.resume();
    await sending;
    await until('every point at the destination', () => delivery(sink.lines, CONNECTIONS, POINTS).missing === 0, 60_000);
    const d = delivery(sink.lines, CONNECTIONS, POINTS);
    t.diagnostic(
      `stuck found ${foundAfterMs} ms after the destination stopped reading (write timeout 2 s); window peak ${peak} bytes; ${d.arrived} arrived, ${d.missing} missing, ${d.duplicated} duplicated`,
    );
    assert.ok(peak <= WINDOW_MOST, `the window's peak: ${peak} bytes`);
    assert.equal(d.missing, 0);
  } finally {
    await relay.stop();
    await sink.close();
  }
});

test('a window bound below the cap and its margin: the writer waits at the bound rather than let go of what may be unread', { skip }, async (t) => {
  // The default cap (8 MiB) and the 4 MiB margin do not fit in a 6 MiB window: the cap is lowered.
  const bound = 6 * MiB;
  const sink = await startTcpSink();
  const relay = await startRelay(['-destinations', sink.address, '-resend-window-bytes', String(bound), ...BASE_ARGS]);
  try {
    const stopBursts = readInBursts(sink, 15);
    const sending = sendLoad({ port: relay.port, connections: CONNECTIONS, points: POINTS });
    await sink.waitForLines(POINTS * 0.7, 60_000);
    const slow = await windowFigures(relay, sink);
    stopBursts();
    await sending;
    await until('every point at the destination', () => delivery(sink.lines, CONNECTIONS, POINTS).missing === 0, 60_000);
    const d = delivery(sink.lines, CONNECTIONS, POINTS);
    t.diagnostic(
      `window bound ${bound}: ${slow.written} bytes written while the destination read slowly, window peak ${slow.peak} bytes, ${slow.uncovered} points let go of uncovered; ${d.arrived} arrived, ${d.missing} missing`,
    );
    assert.ok(slow.written > 2 * bound, `${slow.written} bytes written`);
    assert.ok(slow.peak <= bound, `the window's peak: ${slow.peak} bytes`);
    assert.equal(slow.uncovered, 0, 'nothing let go of at the bound');
    assert.equal(d.missing, 0);
  } finally {
    await relay.stop();
    await sink.close();
  }
});
