// The router's destinations by id: registering one (refusing a duplicate, giving it its queue and
// writer), unregistering it, the broadcast drain of a deleted one, and their status for the API.
import type { BatchQueue } from '../batch/batch.js';
import { createMemoryQueue } from '../batch/memory-queue.js';
import { DestinationError, duplicateMessage, sameDestination, type DestinationAddress, type Distribution } from './destination.js';
import { createDestinationWriter } from './destination-writer.js';
import type { RouterMetrics } from './router-report.js';
import type { TcpWriter } from './tcp-writer.js';

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

export interface Destination {
  readonly address: DestinationAddress;
  readonly queue: BatchQueue;
  readonly writer: TcpWriter;
  readonly registeredAt: Date;
  inRing: boolean;
  draining: boolean;
  written: number;
  reconnects: number;
}

/** The router's part of a destination's writer events, called after they were counted and logged. */
export interface DestinationHooks {
  onUp(d: Destination): void;
  onUnreachable(d: Destination, consecutive: number): void;
  onStuck(d: Destination): void;
  onWritten(d: Destination): void;
}

export interface DestinationRegistryOptions {
  readonly distribution: Distribution;
  /** A destination starts in the ring (hash-route). */
  readonly inRing: boolean;
  readonly queueCapPoints: number;
  readonly queueMaxBytes?: number | undefined;
  readonly makeQueue?: ((dest: DestinationAddress) => BatchQueue) | undefined;
  readonly writeTimeoutMs?: number | undefined;
  readonly resendWindowMs?: number | undefined;
  readonly resendWindowBytes?: number | undefined;
  readonly maxUnreadBytes?: number | undefined;
  readonly unreadBytesPerConnection?: number | undefined;
  readonly metrics: RouterMetrics;
  readonly log: (m: string) => void;
  readonly onSocketError: (err: Error) => void;
  readonly hooks: DestinationHooks;
}

export interface DestinationRegistry {
  /** Registers a destination; false when it was draining and is simply kept. Throws DestinationError on a duplicate. */
  register(address: DestinationAddress): boolean;
  /** Stops its writer and queue and forgets it. */
  unregister(d: Destination): void;
  /** Forgets it, its writer and queue left running (hash-route hands its queue over first). */
  forget(d: Destination): void;
  /** Broadcast removal: false when its queue was empty and it is unregistered now; true when it drains first. */
  drain(d: Destination): boolean;
  get(id: string): Destination | undefined;
  /** Whether this record is the registered one for its id (not one deleted meanwhile). */
  isCurrent(d: Destination): boolean;
  list(): IterableIterator<Destination>;
  statuses(): DestinationStatus[];
}

export function createDestinationRegistry(opts: DestinationRegistryOptions): DestinationRegistry {
  const dests = new Map<string, Destination>();

  const unregister = (d: Destination): void => {
    if (dests.get(d.address.id) === d) dests.delete(d.address.id);
    d.writer.destroy();
    void d.queue.close();
    opts.log(`Unregistered destination ${d.address.id}`);
    opts.log(`Removing destination ${d.address.id} from connection pool`);
  };

  const register = (address: DestinationAddress): boolean => {
    const existing = dests.get(address.id);
    if (existing?.draining) {
      existing.draining = false;
      opts.log(`Destination ${address.id} is registered again (it was draining)`);
      return false;
    }
    if (existing) throw new DestinationError(`destination ${address.id} is already registered`);
    const twin = [...dests.values()].find((d) => sameDestination(d.address, address, opts.distribution));
    if (twin) throw new DestinationError(duplicateMessage(address, twin.address, opts.distribution));
    const queue =
      opts.makeQueue?.(address) ??
      createMemoryQueue({ maxBatches: Number.MAX_SAFE_INTEGER, maxBytes: opts.queueMaxBytes ?? 256 * 1024 * 1024, maxPoints: opts.queueCapPoints, policy: 'block' });
    opts.metrics.declare(address.id);
    const d: Destination = {
      address,
      queue,
      registeredAt: new Date(),
      inRing: opts.inRing,
      draining: false,
      written: 0,
      reconnects: 0,
      writer: createDestinationWriter({
        address,
        queue,
        writeTimeoutMs: opts.writeTimeoutMs,
        resendWindowMs: opts.resendWindowMs,
        resendWindowBytes: opts.resendWindowBytes,
        maxUnreadBytes: opts.maxUnreadBytes,
        unreadBytesPerConnection: opts.unreadBytesPerConnection,
        metrics: opts.metrics,
        log: opts.log,
        onSocketError: opts.onSocketError,
        counts: () => d,
        hooks: {
          onUp: () => opts.hooks.onUp(d),
          onUnreachable: (consecutive) => opts.hooks.onUnreachable(d, consecutive),
          onStuck: () => opts.hooks.onStuck(d),
          onWritten: () => opts.hooks.onWritten(d),
        },
      }),
    };
    dests.set(address.id, d);
    opts.log(`Registered destination ${address.id}`);
    return true;
  };

  return {
    register,
    unregister,
    forget(d) {
      dests.delete(d.address.id);
    },
    drain(d) {
      const queued = d.queue.depth().points;
      if (queued === 0) {
        unregister(d);
        return false;
      }
      d.draining = true;
      opts.log(`Destination ${d.address.id} takes no new data points; it is unregistered once its ${queued} queued data points are written`);
      return true;
    },
    get: (id) => dests.get(id),
    isCurrent: (d) => dests.get(d.address.id) === d,
    list: () => dests.values(),
    statuses() {
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
  };
}
