// What the router tells operators about its destinations: the Prometheus series, and the
// original's queue lines in the log (`Destination X queue length: N` every 5 s, `queue is at
// capacity` when full) plus why a batch was refused.
import type { Batch, BatchQueue, FullPolicy } from '../batch/batch.js';
import { canEverHold } from '../batch/capacity.js';
import type { Registry } from '../observe/metrics.js';
import type { DestinationAddress } from './destination.js';

/** What the report reads of a destination. */
export interface ReportedDestination {
  readonly address: DestinationAddress;
  readonly queue: BatchQueue;
  readonly writer: { readonly connected: boolean };
}

export type RouterMetrics = ReturnType<typeof createRouterMetrics>;

export function createRouterMetrics(registry: Registry, opts: { list: () => Iterable<ReportedDestination>; capacityPoints: number }) {
  const perDestination = (value: (d: ReportedDestination) => number): Array<readonly [{ destination: string }, number]> =>
    [...opts.list()].map((d) => [{ destination: d.address.id }, value(d)] as const);
  registry.gauge('polymur_destination_queued_points', 'Data points queued per destination', () => perDestination((d) => d.queue.depth().points));
  registry.gauge('polymur_destination_queue_capacity_points', 'Queue capacity per destination in points (+Inf for a spooled queue: the spool bounds it in bytes)', () => opts.capacityPoints);
  registry.gauge('polymur_destination_up', 'Whether the destination is connected', () => perDestination((d) => (d.writer.connected ? 1 : 0)));
  return {
    forwarded: registry.counter('polymur_points_forwarded_total', 'Data points accepted for delivery to the destinations'),
    written: registry.counter('polymur_destination_written_points_total', 'Data points written per destination'),
    writtenBatches: registry.counter('polymur_destination_written_batches_total', 'Batches written per destination'),
    writtenBytes: registry.counter('polymur_destination_written_bytes_total', 'Bytes written per destination'),
    reconnects: registry.counter('polymur_destination_reconnects_total', 'Failed connects or broken connections per destination'),
    writeTimeouts: registry.counter('polymur_destination_write_timeouts_total', 'Connections dropped because the destination accepted no byte for -write-timeout'),
    resent: registry.counter('polymur_destination_resent_points_total', 'Data points of the resend window written again after a connection died'),
    writerFailures: registry.counter('polymur_destination_writer_failures_total', 'Unexpected failures of a destination writer loop (it carries on)'),
    refused: registry.counter('polymur_destination_full_total', 'Batches refused because a destination queue was full'),
    oversized: registry.counter('polymur_batches_oversized_total', 'Batches refused because they are larger than a destination queue can ever hold'),
    rerouted: registry.counter('polymur_rerouted_points_total', 'Data points moved from a failed destination to the others'),
    dropped: registry.counter('polymur_points_dropped_total', 'Data points dropped, by reason'),
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
