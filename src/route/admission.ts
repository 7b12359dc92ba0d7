// Whether the router takes a batch: room is reserved on every queue it goes to (reserve.ts); when
// one refuses, -when-full decides: `block` refuses the whole batch (the sender waits), `drop` drops
// that destination's part, counted, and the others get theirs. Before either, a refusing
// destination may leave the hash ring instead (`leave`): the batch is then refused once, and placed
// on the new ring when the sender offers it again.
import type { Batch, BatchQueue, FullPolicy } from '../batch/batch.js';
import { rateLimitedLog } from '../observe/log.js';
import type { Destination } from './destination-registry.js';
import { reserveAll } from './reserve.js';
import type { Placed } from './ring-placement.js';
import { refusalText, type RouterMetrics } from './router-report.js';
import type { SplitLines } from './split.js';

export interface AdmissionOptions {
  readonly policy: FullPolicy;
  readonly metrics: RouterMetrics;
  readonly log: (m: string) => void;
  /** Where a batch goes (with `split`'s pass over its lines when given); null when nowhere now (an empty ring). */
  readonly targets: (batch: Batch, split: SplitLines | undefined) => Placed<Destination> | null;
  /** A queue that refused under `block`: the sender is woken when it has room. */
  readonly watch: (queue: BatchQueue) => void;
  /** Destinations whose queue refused: true when one of them left the ring (the sender is woken to offer again). */
  readonly leave: (refused: readonly Destination[]) => boolean;
}

/** Places a batch on its destinations' queues; false when it was refused (the sender waits). */
export function createAdmission(opts: AdmissionOptions): (batch: Batch, split?: SplitLines) => boolean {
  const { policy, metrics: m } = opts;
  const fullLog = rateLimitedLog(opts.log, 1, 5000);
  return (batch, split) => {
    const placed = opts.targets(batch, split);
    if (placed === null) return false;
    const room = reserveAll(placed.parts, policy === 'block');
    if (room.refused.length > 0 && opts.leave(room.refused.map((part) => part.dest))) {
      room.cancel();
      return false;
    }
    if (room.refused.length > 0 && policy === 'block') {
      const part = room.refused[0]!;
      m.refused.inc();
      fullLog(refusalText(part.dest, part.batch, policy, m));
      opts.watch(part.queue);
      return false;
    }
    for (const part of room.refused) {
      m.dropped.inc(part.batch.points, { reason: 'queue_full', destination: part.dest.address.id });
      fullLog(`${refusalText(part.dest, part.batch, policy, m)}; dropped its copy of ${part.batch.points} data points`);
    }
    room.commit();
    m.forwarded.inc(placed.points);
    return true;
  };
}
