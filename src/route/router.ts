// The routing core shared by the gateway and the relay. Each destination has its own bounded
// queue and TCP writer, so a slow or dead destination does not stall the others until its own
// queue is full. `broadcast` copies every batch to each destination; `hash-route` splits a batch
// by carbon's consistent hash of each metric name (ring-placement.ts); offerSplit() takes the
// caller's own pass over a fresh batch's lines instead (the relay's rule files rename and drop
// lines as they are placed, rules-sink.ts), while what failover hands over is placed as it is.
// A batch is accepted only once room for it is reserved on every queue it goes to, and -when-full
// decides what a refusal means (admission.ts). In hash-route a destination that fails 3 reconnects in a row, or stops
// reading for the write timeout, leaves the ring and what it held is handed to the others; it
// rejoins when it answers again (failover.ts). With -replication-factor 2 or more an unreachable
// destination keeps its place, as in carbon-relay's ring: its other replicas hold every point it
// misses, and moving its share would put copies on nodes carbon's ring does not name for them
// (readers would find them nowhere once it is back). Its share waits in its queue (the spool,
// when there is one) and is written when it answers; it leaves only once that queue is full. The destinations themselves, their queues and
// writers are in destination-registry.ts.
import type { Batch, BatchQueue, FullPolicy } from '../batch/batch.js';
import type { Registry } from '../observe/metrics.js';
import { socketErrorCounter } from '../observe/socket-errors.js';
import { createAdmission } from './admission.js';
import { DestinationError, parseDestination, type DestinationAddress, type Distribution } from './destination.js';
import { createDestinationRegistry, type Destination, type DestinationStatus } from './destination-registry.js';
import { createFailover } from './failover.js';
import type { HashType } from './hash-ring.js';
import { md5Engine } from './md5.js';
import { createNameCache, DEFAULT_NAME_CACHE_NAMES, nameCacheLimits, registerNameCacheMetrics } from './name-cache.js';
import { createRingPlacement, type Placed } from './ring-placement.js';
import { createRouterMetrics, startQueueReport } from './router-report.js';
import { destroyDestinations, drainDestinations } from './router-shutdown.js';
import type { SplitLines, SplitSink } from './split.js';
import { createWakeups } from './wakeups.js';

export type { DestinationStatus } from './destination-registry.js';

export interface Router extends SplitSink {
  addDestination(text: string): void;
  removeDestination(text: string): void;
  destinations(): DestinationStatus[];
}

export interface RouterOptions {
  readonly destinations: readonly DestinationAddress[];
  readonly distribution: Distribution;
  readonly hashType?: HashType;
  readonly replicationFactor?: number;
  /** Metric names whose hash-route node is cached (-route-cache-names; 0: none). */
  readonly nameCacheNames?: number;
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
  /** The most a connection to a destination of this host holds unread before its writer waits (unread-cap.ts); 0: no bound. */
  readonly maxUnreadBytes?: number;
  /** The most one destination connection holds unread (socket-buffers.ts); unknown when absent. */
  readonly unreadBytesPerConnection?: number;
  readonly drainTimeoutMs?: number;
  readonly metrics: Registry;
  readonly log: (m: string) => void;
}

export function createRouter(opts: RouterOptions): Router {
  const failoverAfter = opts.failoverAfter ?? 3;
  const replication = opts.replicationFactor ?? 1;
  const policy = opts.whenFull ?? 'block';
  const hashRoute = opts.distribution === 'hash-route';
  let closed = false;
  let closing: Promise<void> | undefined;
  const m = createRouterMetrics(opts.metrics, { list: () => registry.list() });
  const nameCache = createNameCache(nameCacheLimits(opts.nameCacheNames ?? DEFAULT_NAME_CACHE_NAMES));
  if (hashRoute) {
    registerNameCacheMetrics(opts.metrics, nameCache);
    if ((opts.hashType ?? 'carbon_ch') === 'carbon_ch') opts.log(`hash-route: carbon_ch, ${md5Engine}`);
  }
  const ring = createRingPlacement<Destination>(opts.hashType ?? 'carbon_ch', replication, nameCache);
  // Senders refused wait until what failover handed over is placed too.
  const wakeups = createWakeups(() => failover.flush());
  const registry = createDestinationRegistry({
    distribution: opts.distribution,
    inRing: hashRoute,
    queueCapPoints: opts.queueCapPoints,
    queueMaxBytes: opts.queueMaxBytes,
    makeQueue: opts.makeQueue,
    writeTimeoutMs: opts.writeTimeoutMs,
    resendWindowMs: opts.resendWindowMs,
    resendWindowBytes: opts.resendWindowBytes,
    maxUnreadBytes: opts.maxUnreadBytes,
    unreadBytesPerConnection: opts.unreadBytesPerConnection,
    metrics: m,
    log: opts.log,
    onSocketError: socketErrorCounter(opts.metrics, 'destination'),
    hooks: {
      onUp(d) {
        failover.rejoin(d);
        wakeups.notify();
      },
      onUnreachable(d, consecutive) {
        if (consecutive < failoverAfter) return;
        if (replication === 1) return failover.leave(d, `after ${consecutive} failed reconnects`);
        if (consecutive === failoverAfter && hashRoute && d.inRing)
          opts.log(
            `Destination ${d.address.id} unreachable after ${consecutive} failed reconnects: it keeps its place in the hash ring (replication ${replication}), its share waits in its queue`,
          );
      },
      onStuck(d) {
        failover.leave(d, 'after a write timeout');
      },
      onWritten(d) {
        if (d.draining && d.queue.depth().batches === 0) registry.unregister(d);
        wakeups.notify();
      },
    },
  });
  const failover = createFailover({ hashRoute, ring, registry, metrics: m, log: opts.log, onRoom: wakeups.notify });

  const register = (address: DestinationAddress): void => {
    if (registry.register(address)) ring.rebuild(registry.list());
  };
  for (const address of opts.destinations) register(address);

  const queueReport = startQueueReport({ list: () => registry.list(), policy, log: opts.log });

  /** Broadcast: the batch (as `split` leaves it, in its part 0) to every destination not draining. */
  const everyDestination = (batch: Batch, split: SplitLines | undefined): Placed<Destination> => {
    const placed = split ? split(batch.data, undefined, 1) : { parts: new Map([[0, batch]]), points: batch.points };
    const copy = placed.parts.get(0);
    const parts = copy === undefined ? [] : [...registry.list()].filter((d) => !d.draining).map((dest) => ({ dest, queue: dest.queue, batch: copy }));
    return { parts, points: placed.points };
  };
  const targets = (batch: Batch, split: SplitLines | undefined): Placed<Destination> | null => (hashRoute ? ring.place(batch, split) : everyDestination(batch, split));
  /** A replica kept in the ring while unreachable leaves once its queue refuses a batch. */
  const leaveWhenFull = (refused: readonly Destination[]): boolean => {
    const gone = refused.filter((d) => hashRoute && d.inRing && !d.writer.connected && replication > 1);
    for (const d of gone) failover.leave(d, 'because its queue is full while it is unreachable');
    if (gone.length > 0) setImmediate(wakeups.notify);
    return gone.length > 0;
  };
  const admit = createAdmission({ policy, metrics: m, log: opts.log, targets, watch: wakeups.watch, leave: leaveWhenFull });
  const offerSplit = (batch: Batch, split?: SplitLines): boolean => !closed && failover.flush() && admit(batch, split);

  return {
    offer: (batch) => offerSplit(batch),
    offerSplit,
    whenReady(listener) {
      wakeups.wait(listener);
    },
    async written() {
      await Promise.all([...registry.list()].map((d) => d.queue.written?.() ?? Promise.resolve()));
    },
    addDestination(text) {
      register(parseDestination(text));
      wakeups.notify();
    },
    removeDestination(text) {
      const id = parseDestination(text).id;
      const d = registry.get(id);
      if (!d || d.draining) throw new DestinationError(`destination ${id} is not registered`);
      if (hashRoute) return failover.remove(d);
      // Broadcast has no ring to hand the queue to: the destination takes no new batch and
      // leaves once what it holds is written (putdest takes it back meanwhile).
      if (registry.drain(d)) wakeups.notify();
    },
    destinations: () => registry.statuses(),
    close() {
      closing ??= (async () => {
        closed = true;
        queueReport.stop();
        wakeups.notify();
        await drainDestinations([...registry.list()], { timeoutMs: opts.drainTimeoutMs ?? 10_000, handedOverPoints: () => failover.points, log: opts.log });
      })();
      return closing;
    },
    destroy() {
      closed = true;
      queueReport.stop();
      wakeups.releaseAll();
      destroyDestinations(registry.list());
    },
  };
}
