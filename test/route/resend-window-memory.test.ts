// The resend window under a destination that reads everything (the counting sink, a process of its
// own): it holds what is in flight, not what the socket buffers could hold at their maxima. The
// window's bound is set at 9.5 MiB, below what a connection may hold unread on any Linux (10 MiB
// with the defaults, 40 MB on the development machine), and over twice that goes through: a
// window that kept batches until the bound pushed them out would reach it and count the points it
// let go of as uncovered; one that lets go of what the kernel says was read stays at a fraction
// (what is in flight and the 4 MiB it keeps of what the destination read, window-trim.ts: under
// nine tenths of the bound, which a window that is not trimmed reaches).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openGraphiteStream } from '../helpers/graphite-stream.js';
import { scrape } from '../helpers/prometheus.js';
import { startRelay, type ListenerProcess } from '../../harness/system.js';
import { startSink, type Sink } from '../../harness/sink-process.js';
import { pointId } from '../../harness/load-generator.js';
import { unreadIsCheap } from '../../src/net/send-queue.js';
import { until } from '../../harness/wait.js';

const WINDOW_BYTES = 9.5 * 1024 * 1024;
const LINES_AT_ONCE = 10_000;
const POINTS = 500_000;

test(
  'resend window: under a destination that reads, its peak is what is in flight, a fraction of its bound',
  { skip: !unreadIsCheap && 'the sock_diag addon is not built: the window is trimmed every 100 ms above 4 MiB' },
  async (t) => {
    let sink: Sink | undefined;
    let relay: ListenerProcess | undefined;
    try {
      sink = await startSink(1, POINTS);
      relay = await startRelay(['-destinations', `127.0.0.1:${sink.port}`, '-flush-interval', '50ms', '-resend-window-bytes', String(WINDOW_BYTES)]);
      const stream = await openGraphiteStream(relay.port);
      for (let i = 0; i < POINTS; i += LINES_AT_ONCE) {
        await stream.send(Array.from({ length: LINES_AT_ONCE }, (_, j) => `window.memory.host${(i + j) % 1000}.metric${i + j} ${pointId(0, i + j)} 1700000000`));
      }
      await stream.close();
      await until('every point at the sink', async () => (await sink!.report()).distinct === POINTS, 60_000);

      const m = await scrape(relay.statPort);
      const labels = { destination: `127.0.0.1:${sink.port}` };
      const peak = m.value('polymur_resend_window_peak_bytes', labels);
      const buffers = m.value('polymur_resend_window_buffer_bytes', labels);
      const written = m.value('polymur_bytes_written_total', labels);
      const uncovered = m.value('polymur_resend_window_uncovered_points_total', labels);
      const report = await sink.report();
      t.diagnostic(
        `${POINTS} points, ${written} bytes written: window peak ${peak} bytes of its ${WINDOW_BYTES}, its copies ${buffers} bytes at the end, ${uncovered} points let go of uncovered`,
      );
      assert.ok(written > 2 * WINDOW_BYTES, `${written} bytes written`);
      assert.ok(peak > 0 && peak <= WINDOW_BYTES * 0.9, `the window's peak: ${peak} bytes`);
      assert.ok(buffers <= WINDOW_BYTES * 0.9, `the window's copies take ${buffers} bytes`);
      assert.equal(uncovered, 0, 'nothing was let go of before it was read');
      assert.equal(report.duplicates, 0);
      assert.equal(report.lines, POINTS);
    } finally {
      await relay?.stop();
      await sink?.stop();
    }
  },
);
