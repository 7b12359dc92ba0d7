// What the router tells operators about its destinations: the Prometheus series, and the
// original's queue lines in the log (`Destination X queue length: N` every 5 s, `queue is at
// capacity` when full) plus why a batch was refused.
import type { Batch, BatchQueue, FullPolicy } from '../batch/batch.js';
import { canEverHold } from '../batch/capacity.js';
import type { Registry } from '../observe/metrics.js';
import { registerQueueMetrics } from '../observe/queue-metrics.js';
import type { DestinationAddress } from './destination.js';

/** What the report reads of a destination. */
export interface ReportedDestination {
  readonly address: DestinationAddress;
  readonly queue: BatchQueue;
  readonly writer: { readonly connected: boolean; readonly resendWindow: { readonly bytes: number; readonly peakBytes: number; readonly bufferBytes: number } };
}

export type RouterMetrics = ReturnType<typeof createRouterMetrics>;

export function createRouterMetrics(registry: Registry, opts: { list: () => Iterable<ReportedDestination> }) {
  registerQueueMetrics(registry, () => [...opts.list()].map((d) => ({ labels: { destination: d.address.id }, depth: d.queue.depth(), limits: d.queue.limits() })));
  registry.gauge('polymur_destination_up', 'Whether the destination is connected', () =>
    [...opts.list()].map((d) => [{ destination: d.address.id }, d.writer.connected ? 1 : 0] as const),
  );
  const perDestination = (of: (w: ReportedDestination['writer']) => number) => () => [...opts.list()].map((d) => [{ destination: d.address.id }, of(d.writer)] as const);
  registry.gauge(
    'polymur_resend_window_bytes',
    'Bytes of the written batches the resend window holds to write again',
    perDestination((w) => w.resendWindow.bytes),
  );
  registry.gauge(
    'polymur_resend_window_peak_bytes',
    'The most bytes the resend window held at once',
    perDestination((w) => w.resendWindow.peakBytes),
  );
  registry.gauge(
    'polymur_resend_window_buffer_bytes',
    "Bytes of the memory the resend window's copies of its batches take",
    perDestination((w) => w.resendWindow.bufferBytes),
  );
  const m = {
    forwarded: registry.counter('polymur_points_forwarded_total', 'Data points accepted into the destination queues for delivery'),
    // Per destination: each series is declared at 0 as its destination is registered (declare()).
    written: registry.counter('polymur_points_written_total', 'Data points written to the next hop, per destination', []),
    writtenBatches: registry.counter('polymur_batches_written_total', 'Batches written to the next hop, per destination', []),
    writtenBytes: registry.counter('polymur_bytes_written_total', 'Bytes written to the next hop, per destination', []),
    reconnects: registry.counter('polymur_destination_reconnects_total', 'Failed connects or broken connections per destination', []),
    writeTimeouts: registry.counter('polymur_destination_write_timeouts_total', 'Connections dropped because the destination accepted no byte for -write-timeout', []),
    resent: registry.counter('polymur_destination_resent_points_total', 'Data points of the resend window written again after a connection died', []),
    unread: registry.counter(
      'polymur_destination_unread_points_total',
      'Data points written to a destination that then stopped reading, which it may not have read: written again (in hash-route, to the ring); those it had read arrive twice',
      [],
    ),
    uncovered: registry.counter(
      'polymur_resend_window_uncovered_points_total',
      'Data points the resend window let go of at -resend-window-bytes while the destination may not have read them: lost if it stops reading before it does',
      [],
    ),
    writerFailures: registry.counter('polymur_destination_writer_failures_total', 'Unexpected failures of a destination writer loop (it carries on)', []),
    refused: registry.counter('polymur_destination_full_total', 'Batches refused because a destination queue was full'),
    oversized: registry.counter('polymur_batches_oversized_total', 'Batches refused because they are larger than a destination queue can ever hold'),
    rerouted: registry.counter('polymur_rerouted_points_total', 'Data points moved from a failed destination to the others'),
    dropped: registry.counter('polymur_points_dropped_total', 'Data points dropped, by reason (and destination)', []),
  };
  return {
    ...m,
    /** A destination's series, at 0 from its registration. */
    declare(destination: string): void {
      const labels = { destination };
      for (const counter of [m.written, m.writtenBatches, m.writtenBytes, m.reconnects, m.writeTimeouts, m.resent, m.unread, m.uncovered, m.writerFailures])
        counter.declare(labels);
      m.dropped.declare({ reason: 'queue_full', destination });
    },
  };
}

function limitText(queue: BatchQueue): string {
  const l = queue.limits();
  return l.points === Infinity ? `${l.bytes} bytes` : `${l.points}`;
}

// The original's words.
export function atCapacity(d: ReportedDestination, policy: FullPolicy): string {
  const then = policy === 'block' ? 'further data points wait until it drains' : 'its copy of further data points is dropped (-when-full drop)';
  return `Destination ${d.address.id} queue is at capacity (${limitText(d.queue)}) - ${then}`;
}

/** Why a destination's queue refused a batch, for the log; counts an oversized batch. */
export function refusalText(d: ReportedDestination, batch: Batch, policy: FullPolicy, m: RouterMetrics): string {
  const fault = d.queue.fault();
  if (fault) return `Destination ${d.address.id} queue cannot store: ${fault}`;
  if (!canEverHold(d.queue.limits(), batch.data.length, batch.points)) {
    m.oversized.inc();
    return `A batch of ${batch.points} data points (${batch.data.length} bytes) is larger than destination ${d.address.id}'s queue can ever hold (${limitText(d.queue)}): raise -outgoing-queue-cap or -spool-max-bytes`;
  }
  return atCapacity(d, policy);
}

/** The 5 s queue report; stop() ends it. */
export function startQueueReport(opts: { list: () => Iterable<ReportedDestination>; policy: FullPolicy; log: (m: string) => void }): { stop(): void } {
  const timer = setInterval(() => {
    for (const d of opts.list()) {
      const queued = d.queue.depth().points;
      const fault = d.queue.fault();
      if (fault) opts.log(`Destination ${d.address.id} queue cannot store: ${fault}`);
      else if (queued >= d.queue.limits().points) opts.log(atCapacity(d, opts.policy));
      else if (queued > 0) opts.log(`Destination ${d.address.id} queue length: ${queued}`);
    }
  }, 5000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
