// The routing core shared by the gateway and the relay. Each destination has its own bounded
// queue and TCP writer, so a slow or dead destination does not stall the others until its own
// queue is full. `broadcast` copies every batch to each destination; `hash-route` splits a batch
// by carbon's consistent hash of each metric name. In hash-route a destination that fails 3
// reconnects in a row leaves the ring and what was queued for it is routed to the others; it
// rejoins when it answers again.
import type { Batch, BatchQueue, BatchSink, Lease } from '../batch/batch.js';
import { createMemoryQueue } from '../batch/memory-queue.js';
import { rateLimitedLog } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';
import { DestinationError, duplicateMessage, parseDestination, sameDestination, type DestinationAddress, type Distribution } from './destination.js';
import { createHashRing, type HashRing, type HashType } from './hash-ring.js';
import { splitByDestination } from './split.js';
import { createTcpWriter, type TcpWriter } from './tcp-writer.js';

export interface DestinationStatus {
  readonly id: string;
  readonly connected: boolean;
  readonly inRing: boolean;
  readonly registeredAt: Date;
  readonly queuedPoints: number;
  readonly writtenPoints: number;
  readonly reconnects: number;
  /** The destination's queue, as readiness reads it (its own limits; the router's cap in points is queueCapPoints). */
  readonly queue: Pick<BatchQueue, 'depth' | 'limits' | 'fault'>;
}

export interface Router extends BatchSink {
  addDestination(text: string): void;
  removeDestination(text: string): void;
  destinations(): DestinationStatus[];
}

export interface RouterOptions {
  readonly destinations: readonly DestinationAddress[];
  readonly distribution: Distribution;
  readonly hashType?: HashType;
  readonly replicationFactor?: number;
  /** Per destination, in points; an empty queue always takes one batch. */
  readonly queueCapPoints: number;
  readonly queueMaxBytes?: number;
  /** A destination's queue; in memory unless the spool provides one. */
  readonly makeQueue?: (dest: DestinationAddress) => BatchQueue;
  /** Failed reconnects in a row before a hash-route destination leaves the ring. */
  readonly failoverAfter?: number;
  readonly drainTimeoutMs?: number;
  readonly metrics: Registry;
  readonly log: (m: string) => void;
}

interface Destination {
  readonly address: DestinationAddress;
  readonly queue: BatchQueue;
  readonly writer: TcpWriter;
  readonly registeredAt: Date;
  inRing: boolean;
  written: number;
  reconnects: number;
  readonly log: (m: string) => void;
}

export function createRouter(opts: RouterOptions): Router {
  const hashType = opts.hashType ?? 'carbon_ch';
  const replication = opts.replicationFactor ?? 1;
  const failoverAfter = opts.failoverAfter ?? 3;
  const dests = new Map<string, Destination>();
  const waiting: Array<() => void> = [];
  let ring: HashRing = createHashRing([], hashType);
  let ringDests: Destination[] = [];
  let closed = false;
  opts.metrics.gauge('polymur_destination_queued_points', 'Data points queued per destination', () =>
    [...dests.values()].map((d) => [{ destination: d.address.id }, d.queue.depth().points] as const),
  );
  opts.metrics.gauge('polymur_destination_queue_capacity_points', 'Queue capacity per destination in points', () => opts.queueCapPoints);
  opts.metrics.gauge('polymur_destination_up', 'Whether the destination is connected', () =>
    [...dests.values()].map((d) => [{ destination: d.address.id }, d.writer.connected ? 1 : 0] as const),
  );
  const m = {
    forwarded: opts.metrics.counter('polymur_points_forwarded_total', 'Data points accepted for delivery to the destinations'),
    written: opts.metrics.counter('polymur_destination_written_points_total', 'Data points written per destination'),
    writtenBatches: opts.metrics.counter('polymur_destination_written_batches_total', 'Batches written per destination'),
    writtenBytes: opts.metrics.counter('polymur_destination_written_bytes_total', 'Bytes written per destination'),
    reconnects: opts.metrics.counter('polymur_destination_reconnects_total', 'Failed connects or broken connections per destination'),
    refused: opts.metrics.counter('polymur_destination_full_total', 'Batches refused because a destination queue was full'),
    rerouted: opts.metrics.counter('polymur_rerouted_points_total', 'Data points moved from a failed destination to the others'),
    dropped: opts.metrics.counter('polymur_points_dropped_total', 'Data points dropped, by reason'),
  };
  const fullLog = rateLimitedLog(opts.log, 1, 5000);

  const notifyReady = (): void => {
    for (const w of waiting.splice(0)) w();
  };

  const rebuildRing = (): void => {
    ringDests = [...dests.values()].filter((d) => d.inRing);
    ring = createHashRing(ringDests.map((d) => d.address), hashType);
  };

  const hasRoom = (d: Destination, points: number): boolean => {
    const queued = d.queue.depth().points;
    return queued === 0 || queued + points <= opts.queueCapPoints;
  };

  /** Splits a batch over the ring; null when no destination is in the ring. */
  const place = (batch: Batch): Map<Destination, Batch> | null => {
    if (ringDests.length === 0) return null;
    const parts = splitByDestination(batch.data, ring, replication);
    const out = new Map<Destination, Batch>();
    for (const [index, part] of parts) out.set(ringDests[index]!, part);
    return out;
  };

  /**
   * Moves what a destination that left the ring holds to the others, ignoring their caps. With
   * no destination in the ring it keeps everything (a taken lease must never be left unacknowledged
   * and unwritten: it would be lost) until one rejoins.
   */
  const reroute = (d: Destination): void => {
    if (ringDests.length === 0) return;
    let points = 0;
    const move = (lease: Lease): void => {
      const parts = place(lease.batch)!;
      for (const [target, part] of parts) target.queue.offer(part);
      points += lease.batch.points;
      lease.ack();
    };
    const held = d.writer.takeHeld();
    if (held) move(held);
    for (let lease = d.queue.takeNow(); lease; lease = d.queue.takeNow()) move(lease);
    if (points > 0) {
      m.rerouted.inc(points);
      opts.log(`Redistributed ${points} in-flight data points of ${d.address.id} to the remaining destinations`);
    }
  };

  const register = (address: DestinationAddress): void => {
    if (dests.has(address.id)) throw new DestinationError(`destination ${address.id} is already registered`);
    const twin = [...dests.values()].find((d) => sameDestination(d.address, address, opts.distribution));
    if (twin) throw new DestinationError(duplicateMessage(address, twin.address, opts.distribution));
    const queue =
      opts.makeQueue?.(address) ??
      createMemoryQueue({ maxBatches: Number.MAX_SAFE_INTEGER, maxBytes: opts.queueMaxBytes ?? 256 * 1024 * 1024, policy: 'block' });
    const labels = { destination: address.id };
    const log = rateLimitedLog(opts.log, 3, 10_000);
    const d: Destination = {
      address,
      queue,
      registeredAt: new Date(),
      inRing: opts.distribution === 'hash-route',
      written: 0,
      reconnects: 0,
      log,
      writer: createTcpWriter({
        destination: address,
        queue,
        events: {
          onUp() {
            opts.log(`Connected to destination ${address.id}`);
            if (opts.distribution === 'hash-route' && !d.inRing && dests.get(address.id) === d) {
              d.inRing = true;
              rebuildRing();
              opts.log(`Destination ${address.id} rejoined the hash ring`);
              // Points that had nowhere to go while the ring was empty can move now.
              for (const other of dests.values()) if (!other.inRing) reroute(other);
            }
            notifyReady();
          },
          onDown(reason, consecutive) {
            d.reconnects++;
            m.reconnects.inc(1, labels);
            log(`Destination ${address.id} unreachable: ${reason}${consecutive > 0 ? ` (${consecutive} failed reconnects)` : ''}`);
            if (opts.distribution === 'hash-route' && d.inRing && consecutive >= failoverAfter) {
              d.inRing = false;
              rebuildRing();
              opts.log(`Removing ${address.id} from the hash ring after ${consecutive} failed reconnects`);
              reroute(d);
              notifyReady();
            }
          },
          onWritten(batch) {
            d.written += batch.points;
            m.written.inc(batch.points, labels);
            m.writtenBatches.inc(1, labels);
            m.writtenBytes.inc(batch.data.length, labels);
            notifyReady();
          },
        },
      }),
    };
    dests.set(address.id, d);
    opts.log(`Registered destination ${address.id}`);
    opts.log(`Adding destination to connection pool: ${address.id}`);
    rebuildRing();
  };

  for (const address of opts.destinations) register(address);

  // The original's 5 s queue report, in its words (but a full queue holds senders back, it drops nothing).
  const atCapacity = (d: Destination): string =>
    `Destination ${d.address.id} queue is at capacity (${opts.queueCapPoints}) - further data points wait until it drains`;
  const queueLogTimer = setInterval(() => {
    for (const d of dests.values()) {
      const queued = d.queue.depth().points;
      if (queued >= opts.queueCapPoints) opts.log(atCapacity(d));
      else if (queued > 0) opts.log(`Destination ${d.address.id} queue length: ${queued}`);
    }
  }, 5000);
  queueLogTimer.unref();

  return {
    offer(batch) {
      if (closed) return false;
      let parts: Map<Destination, Batch>;
      if (opts.distribution === 'broadcast') {
        parts = new Map([...dests.values()].map((d) => [d, batch]));
      } else {
        const placed = place(batch);
        if (placed === null) return false;
        parts = placed;
      }
      for (const [d, part] of parts) {
        if (!hasRoom(d, part.points)) {
          m.refused.inc();
          fullLog(atCapacity(d));
          return false;
        }
      }
      for (const [d, part] of parts) d.queue.offer(part);
      m.forwarded.inc(batch.points);
      return true;
    },
    whenReady(listener) {
      waiting.push(listener);
    },
    addDestination(text) {
      register(parseDestination(text));
      notifyReady();
    },
    removeDestination(text) {
      const id = parseDestination(text).id;
      const d = dests.get(id);
      if (!d) throw new DestinationError(`destination ${id} is not registered`);
      dests.delete(id);
      if (d.inRing) rebuildRing();
      if (opts.distribution === 'hash-route') reroute(d);
      const dropped = d.queue.depth().points;
      if (dropped > 0) {
        m.dropped.inc(dropped, { reason: 'destination_removed' });
        opts.log(`Unregistered destination ${id}: ${dropped} queued data points for it discarded`);
      }
      // Both at once: an idle writer waits in take() until its queue closes.
      void Promise.all([d.writer.close(true), d.queue.close()]);
      opts.log(`Unregistered destination ${id}`);
      notifyReady();
    },
    destinations() {
      return [...dests.values()].map((d) => ({
        id: d.address.id,
        connected: d.writer.connected,
        inRing: d.inRing,
        registeredAt: d.registeredAt,
        queuedPoints: d.queue.depth().points,
        writtenPoints: d.written,
        reconnects: d.reconnects,
        queue: d.queue,
      }));
    },
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(queueLogTimer);
      notifyReady();
      const all = [...dests.values()];
      await Promise.all(all.map((d) => d.queue.close()));
      const drained = Promise.all(all.map((d) => d.writer.close()));
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.drainTimeoutMs ?? 10_000).unref());
      if ((await Promise.race([drained, timeout])) === 'timeout') {
        const left = all.reduce((n, d) => n + d.queue.depth().points, 0);
        opts.log(`Shutdown: ${left} data points could not be written to their destinations in time`);
        await Promise.all(all.map((d) => d.writer.close(true)));
      }
    },
    destroy() {
      closed = true;
      clearInterval(queueLogTimer);
      notifyReady();
      for (const d of dests.values()) {
        d.queue.destroy();
        void d.writer.close(true);
      }
    },
  };
}
