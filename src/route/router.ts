// The routing core shared by the gateway and the relay. Each destination has its own bounded
// queue and TCP writer, so a slow or dead destination does not stall the others until its own
// queue is full. `broadcast` copies every batch to each destination; `hash-route` splits a batch
// by carbon's consistent hash of each metric name. A batch is accepted only once room for it is
// reserved on every queue it goes to (reserve.ts), in the queue's own units; when one refuses,
// -when-full decides: `block` refuses the whole batch (the sender waits: 503 at the gateway, paused
// sockets at the relay), `drop` drops that destination's part, counted, and the others get theirs.
// In hash-route a destination that fails 3 reconnects in a row, or stops reading for the write
// timeout, leaves the ring and what it held is handed to the others (handover.ts); it rejoins when
// it answers again.
import type { Batch, BatchQueue, BatchSink, FullPolicy } from '../batch/batch.js';
import { createMemoryQueue } from '../batch/memory-queue.js';
import { rateLimitedLog } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';
import { socketErrorCounter } from '../observe/socket-errors.js';
import { DestinationError, duplicateMessage, parseDestination, sameDestination, type DestinationAddress, type Distribution } from './destination.js';
import { createHandover } from './handover.js';
import { createHashRing, type HashRing, type HashType } from './hash-ring.js';
import { reserveAll, type Part } from './reserve.js';
import { createRouterMetrics, refusalText, startQueueReport } from './router-report.js';
import { splitByDestination } from './split.js';
import { createTcpWriter, type TcpWriter } from './tcp-writer.js';

export interface DestinationStatus {
  readonly id: string;
  readonly connected: boolean;
  readonly inRing: boolean;
  /** Deleted in broadcast; it leaves once its queue is written. */
  readonly draining: boolean;
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
  /** Per in-memory destination queue, in points (a spooled queue is bounded by the spool instead). */
  readonly queueCapPoints: number;
  readonly queueMaxBytes?: number;
  /** A destination's queue; in memory unless the spool provides one. */
  readonly makeQueue?: (dest: DestinationAddress) => BatchQueue;
  /** What a full destination queue means: block (refuse the batch) or drop (that destination's copy). */
  readonly whenFull?: FullPolicy;
  /** Failed reconnects in a row before a hash-route destination leaves the ring. */
  readonly failoverAfter?: number;
  readonly writeTimeoutMs?: number;
  readonly resendWindowMs?: number;
  readonly resendWindowBytes?: number;
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
  draining: boolean;
  written: number;
  reconnects: number;
}

export function createRouter(opts: RouterOptions): Router {
  const hashType = opts.hashType ?? 'carbon_ch';
  const replication = opts.replicationFactor ?? 1;
  const failoverAfter = opts.failoverAfter ?? 3;
  const policy = opts.whenFull ?? 'block';
  const hashRoute = opts.distribution === 'hash-route';
  const dests = new Map<string, Destination>();
  const waiting: Array<() => void> = [];
  /** Queues that refused a reservation and whose whenReady we wait on. */
  const watched = new Set<BatchQueue>();
  let ring: HashRing = createHashRing([], hashType);
  let ringDests: Destination[] = [];
  let closed = false;
  let closing: Promise<void> | undefined;
  const m = createRouterMetrics(opts.metrics, { list: () => dests.values() });
  const onSocketError = socketErrorCounter(opts.metrics, 'destination');
  const fullLog = rateLimitedLog(opts.log, 1, 5000);
  const handoverLog = rateLimitedLog(opts.log, 2, 5000);

  const rebuildRing = (): void => {
    ringDests = [...dests.values()].filter((d) => d.inRing);
    ring = createHashRing(ringDests.map((d) => d.address), hashType);
  };

  /** Splits a batch over the ring; null when no destination is in the ring. */
  const place = (batch: Batch): Array<Part<Destination>> | null => {
    if (ringDests.length === 0) return null;
    return [...splitByDestination(batch.data, ring, replication)].map(([index, part]) => {
      const dest = ringDests[index]!;
      return { dest, queue: dest.queue, batch: part };
    });
  };

  const notifyReady = (): void => {
    if (!handover.flush()) return;
    for (const w of waiting.splice(0)) w();
  };

  /** Wakes the senders once a queue that refused has room (one listener per queue). */
  const watch = (queue: BatchQueue): void => {
    if (watched.has(queue)) return;
    watched.add(queue);
    queue.whenReady(() => {
      watched.delete(queue);
      setImmediate(notifyReady);
    });
  };

  const handover = createHandover<Destination>({
    place,
    onPlaced(points) {
      m.rerouted.inc(points);
      handoverLog(`Redistributed ${points} data points to the remaining destinations`);
    },
    onRoom: notifyReady,
  });

  /** Hands what a destination that left the ring holds (and what it may not have delivered) to the others. */
  const reroute = (d: Destination): void => {
    const held = d.writer.takeHeld();
    if (held) handover.add(held.batch, () => held.ack());
    for (const batch of d.writer.takeUnconfirmed()) handover.add(batch, () => undefined);
    for (let lease = d.queue.takeNow(); lease; lease = d.queue.takeNow()) {
      const taken = lease;
      handover.add(taken.batch, () => taken.ack());
    }
    if (handover.points > 0) opts.log(`Handing ${handover.points} data points of ${d.address.id} to the remaining destinations`);
    notifyReady();
  };

  const leaveRing = (d: Destination, why: string): void => {
    if (!hashRoute || !d.inRing) return;
    d.inRing = false;
    rebuildRing();
    opts.log(`Removing ${d.address.id} from the hash ring ${why}`);
    reroute(d);
  };

  const unregister = (d: Destination): void => {
    if (dests.get(d.address.id) === d) dests.delete(d.address.id);
    d.writer.destroy();
    void d.queue.close();
    opts.log(`Unregistered destination ${d.address.id}`);
    opts.log(`Removing destination ${d.address.id} from connection pool`);
  };

  const register = (address: DestinationAddress): void => {
    const existing = dests.get(address.id);
    if (existing?.draining) {
      existing.draining = false;
      opts.log(`Destination ${address.id} is registered again (it was draining)`);
      return;
    }
    if (existing) throw new DestinationError(`destination ${address.id} is already registered`);
    const twin = [...dests.values()].find((d) => sameDestination(d.address, address, opts.distribution));
    if (twin) throw new DestinationError(duplicateMessage(address, twin.address, opts.distribution));
    const queue =
      opts.makeQueue?.(address) ??
      createMemoryQueue({ maxBatches: Number.MAX_SAFE_INTEGER, maxBytes: opts.queueMaxBytes ?? 256 * 1024 * 1024, maxPoints: opts.queueCapPoints, policy: 'block' });
    const labels = { destination: address.id };
    m.declare(address.id);
    const log = rateLimitedLog(opts.log, 3, 10_000);
    // The original's words: joining the pool on the first connection, reconnecting after.
    let pooled = false;
    const d: Destination = {
      address,
      queue,
      registeredAt: new Date(),
      inRing: hashRoute,
      draining: false,
      written: 0,
      reconnects: 0,
      writer: createTcpWriter({
        destination: address,
        queue,
        ...(opts.writeTimeoutMs !== undefined ? { writeTimeoutMs: opts.writeTimeoutMs } : {}),
        ...(opts.resendWindowMs !== undefined ? { resendWindowMs: opts.resendWindowMs } : {}),
        ...(opts.resendWindowBytes !== undefined ? { resendWindowBytes: opts.resendWindowBytes } : {}),
        onSocketError,
        events: {
          onUp() {
            opts.log(pooled ? `Reconnected to destination: ${address.id}` : `Adding destination to connection pool: ${address.id}`);
            pooled = true;
            if (hashRoute && !d.inRing && dests.get(address.id) === d) {
              d.inRing = true;
              rebuildRing();
              opts.log(`Destination ${address.id} rejoined the hash ring`);
            }
            notifyReady();
          },
          onDown(reason, consecutive) {
            d.reconnects++;
            m.reconnects.inc(1, labels);
            log(`Destination ${address.id} unreachable: ${reason}${consecutive > 0 ? ` (${consecutive} failed reconnects)` : ''}`);
            if (consecutive >= failoverAfter) leaveRing(d, `after ${consecutive} failed reconnects`);
          },
          onStuck(err) {
            m.writeTimeouts.inc(1, labels);
            opts.log(`Destination ${address.id} is down: ${err.message}; connection dropped`);
            leaveRing(d, 'after a write timeout');
          },
          onWritten(batch) {
            d.written += batch.points;
            m.written.inc(batch.points, labels);
            m.writtenBatches.inc(1, labels);
            m.writtenBytes.inc(batch.data.length, labels);
            if (d.draining && d.queue.depth().batches === 0) unregister(d);
            notifyReady();
          },
          onResent(batch) {
            m.resent.inc(batch.points, labels);
          },
          onFailure(err) {
            m.writerFailures.inc(1, labels);
            log(`Destination ${address.id}: writer failed (${err.message}); it carries on`);
          },
        },
      }),
    };
    dests.set(address.id, d);
    opts.log(`Registered destination ${address.id}`);
    rebuildRing();
  };

  for (const address of opts.destinations) register(address);

  const queueReport = startQueueReport({ list: () => dests.values(), policy, log: opts.log });

  const targets = (batch: Batch): Array<Part<Destination>> | null =>
    hashRoute ? place(batch) : [...dests.values()].filter((d) => !d.draining).map((dest) => ({ dest, queue: dest.queue, batch }));

  return {
    offer(batch) {
      if (closed || !handover.flush()) return false;
      const parts = targets(batch);
      if (parts === null) return false;
      const room = reserveAll(parts, policy === 'block');
      if (room.refused.length > 0 && policy === 'block') {
        const part = room.refused[0]!;
        m.refused.inc();
        fullLog(refusalText(part.dest, part.batch, policy, m));
        watch(part.queue);
        return false;
      }
      for (const part of room.refused) {
        m.dropped.inc(part.batch.points, { reason: 'queue_full', destination: part.dest.address.id });
        fullLog(`${refusalText(part.dest, part.batch, policy, m)}; dropped its copy of ${part.batch.points} data points`);
      }
      room.commit();
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
      if (!d || d.draining) throw new DestinationError(`destination ${id} is not registered`);
      if (hashRoute) {
        dests.delete(id);
        if (d.inRing) rebuildRing();
        d.inRing = false;
        // Its queue moves to the ring before the writer stops: nothing it held is discarded.
        d.writer.destroy();
        reroute(d);
        unregister(d);
        return;
      }
      // Broadcast has no ring to hand the queue to: the destination takes no new batch and
      // leaves once what it holds is written (putdest takes it back meanwhile).
      const queued = d.queue.depth().points;
      if (queued === 0) return unregister(d);
      d.draining = true;
      opts.log(`Destination ${id} takes no new data points; it is unregistered once its ${queued} queued data points are written`);
      notifyReady();
    },
    destinations() {
      return [...dests.values()].map((d) => ({
        id: d.address.id,
        connected: d.writer.connected,
        inRing: d.inRing,
        draining: d.draining,
        registeredAt: d.registeredAt,
        queuedPoints: d.queue.depth().points,
        writtenPoints: d.written,
        reconnects: d.reconnects,
        queue: d.queue,
      }));
    },
    close() {
      closing ??= (async () => {
        closed = true;
        queueReport.stop();
        notifyReady();
        const all = [...dests.values()];
        await Promise.all(all.map((d) => d.queue.close()));
        const drained = Promise.all(all.map((d) => d.writer.close()));
        const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), opts.drainTimeoutMs ?? 10_000).unref());
        if ((await Promise.race([drained, timeout])) === 'timeout') {
          const left = all.reduce((n, d) => n + d.queue.depth().points, 0) + handover.points;
          opts.log(`Shutdown: ${left} data points could not be written to their destinations in time`);
          for (const d of all) d.writer.destroy();
        }
      })();
      return closing;
    },
    destroy() {
      closed = true;
      queueReport.stop();
      for (const w of waiting.splice(0)) w();
      for (const d of dests.values()) {
        d.queue.destroy();
        d.writer.destroy();
      }
    },
  };
}
