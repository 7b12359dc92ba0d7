// Hash-route failover: a destination that fails its reconnects or stops reading leaves the ring and
// what it held (its writer's held batch, the unconfirmed resend window, its queue) is handed to the
// others (handover.ts); it rejoins once it answers again. A deleted destination is handed over the
// same way. In broadcast there is no ring: all of this does nothing.
import { rateLimitedLog } from '../observe/log.js';
import type { Destination, DestinationRegistry } from './destination-registry.js';
import { createHandover } from './handover.js';
import type { RingPlacement } from './ring-placement.js';
import type { RouterMetrics } from './router-report.js';

export interface Failover {
  /** Takes it out of the ring and hands over what it holds. */
  leave(d: Destination, why: string): void;
  /** Puts it back in the ring when it is still registered. */
  rejoin(d: Destination): void;
  /** A deleted destination: out of the ring and unregistered, nothing it held discarded. */
  remove(d: Destination): void;
  /** Places what was handed over; true when nothing waits any more. */
  flush(): boolean;
  /** Data points handed over and not yet placed. */
  readonly points: number;
}

export interface FailoverOptions {
  readonly hashRoute: boolean;
  readonly ring: RingPlacement<Destination>;
  readonly registry: DestinationRegistry;
  readonly metrics: RouterMetrics;
  readonly log: (m: string) => void;
  /** Called once handed-over batches were placed or a queue may have room again. */
  readonly onRoom: () => void;
}

export function createFailover(opts: FailoverOptions): Failover {
  const { ring, registry } = opts;
  const handoverLog = rateLimitedLog(opts.log, 2, 5000);
  const handover = createHandover<Destination>({
    place: (batch) => ring.place(batch)?.parts ?? null,
    onPlaced(points) {
      opts.metrics.rerouted.inc(points);
      handoverLog(`Redistributed ${points} data points to the remaining destinations`);
    },
    onRoom: opts.onRoom,
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
    opts.onRoom();
  };

  return {
    leave(d, why) {
      if (!opts.hashRoute || !d.inRing) return;
      d.inRing = false;
      ring.rebuild(registry.list());
      opts.log(`Removing ${d.address.id} from the hash ring ${why}`);
      reroute(d);
    },
    rejoin(d) {
      if (!opts.hashRoute || d.inRing || !registry.isCurrent(d)) return;
      d.inRing = true;
      ring.rebuild(registry.list());
      opts.log(`Destination ${d.address.id} rejoined the hash ring`);
    },
    remove(d) {
      registry.forget(d);
      if (d.inRing) ring.rebuild(registry.list());
      d.inRing = false;
      // Its queue moves to the ring before the writer stops: nothing it held is discarded.
      d.writer.destroy();
      reroute(d);
      registry.unregister(d);
    },
    flush: () => handover.flush(),
    get points() {
      return handover.points;
    },
  };
}
