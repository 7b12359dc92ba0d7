// The bounded in-memory BatchQueue: bounded in batches, bytes and (optionally) data points,
// counting batches taken but not yet acknowledged, so memory stays bounded while requests are in
// flight. When full, 'block' refuses (the producer pauses), 'drop' drops the new batch and reports it.
import type { Batch, BatchQueue, FullPolicy, Lease } from './batch.js';
import { createCapacity } from './capacity.js';

export function createMemoryQueue(opts: {
  maxBatches: number;
  maxBytes: number;
  /** Data points held at most (the router's -outgoing-queue-cap); unbounded when absent. */
  maxPoints?: number;
  policy: FullPolicy;
  onDrop?: (batch: Batch) => void;
}): BatchQueue {
  const items: Batch[] = [];
  const takers: Array<(lease: Lease | undefined) => void> = [];
  const capacity = createCapacity(opts);
  let closed = false;

  const lease = (batch: Batch): Lease => {
    let acked = false;
    return {
      batch,
      ack() {
        if (acked) return;
        acked = true;
        capacity.release(batch.data.length, batch.points);
      },
    };
  };

  /** A batch whose room is already held. */
  const enqueue = (batch: Batch): void => {
    const taker = takers.shift();
    if (taker) taker(lease(batch));
    else items.push(batch);
  };

  const close = (): void => {
    if (closed) return;
    closed = true;
    for (const t of takers.splice(0)) t(undefined);
    capacity.close();
  };

  return {
    offer(batch) {
      if (closed) return false;
      if (!capacity.fits(batch.data.length, batch.points)) return capacity.whenFull(batch, batch.data.length);
      capacity.hold(batch.data.length, batch.points);
      enqueue(batch);
      return true;
    },
    reserve(bytes, points) {
      if (closed || !capacity.tryHold(bytes, points)) return undefined;
      let settled = false;
      return {
        commit(batch) {
          if (settled) return;
          settled = true;
          enqueue(batch);
        },
        cancel() {
          if (settled) return;
          settled = true;
          capacity.release(bytes, points);
        },
      };
    },
    limits: capacity.limits,
    fault: () => undefined,
    whenReady: capacity.whenReady,
    takeNow() {
      const batch = items.shift();
      return batch ? lease(batch) : undefined;
    },
    take() {
      const batch = items.shift();
      if (batch) return Promise.resolve(lease(batch));
      if (closed) return Promise.resolve(undefined);
      return new Promise((resolve) => takers.push(resolve));
    },
    depth: capacity.depth,
    async close() {
      close();
    },
    destroy: close,
  };
}
