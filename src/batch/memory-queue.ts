// The bounded in-memory BatchQueue: bounded in batches and in bytes, counting batches taken but not
// yet acknowledged, so memory stays bounded while requests are in flight. When full, 'block'
// refuses (the producer pauses), 'drop' drops the new batch and reports it.
import type { Batch, BatchQueue, FullPolicy, Lease, QueueDepth } from './batch.js';

export function createMemoryQueue(opts: {
  maxBatches: number;
  maxBytes: number;
  policy: FullPolicy;
  onDrop?: (batch: Batch) => void;
}): BatchQueue {
  const items: Batch[] = [];
  const takers: Array<(lease: Lease | undefined) => void> = [];
  const readyListeners: Array<() => void> = [];
  // Held = queued + taken but not acknowledged.
  let heldBatches = 0;
  let heldBytes = 0;
  let heldPoints = 0;
  let closed = false;

  const hasRoom = (batch: Batch): boolean =>
    heldBatches === 0 || (heldBatches < opts.maxBatches && heldBytes + batch.data.length <= opts.maxBytes);

  const lease = (batch: Batch): Lease => {
    let acked = false;
    return {
      batch,
      ack() {
        if (acked) return;
        acked = true;
        heldBatches--;
        heldBytes -= batch.data.length;
        heldPoints -= batch.points;
        const listeners = readyListeners.splice(0);
        for (const l of listeners) l();
      },
    };
  };

  return {
    offer(batch) {
      if (closed) return false;
      if (!hasRoom(batch)) {
        if (opts.policy === 'block') return false;
        opts.onDrop?.(batch);
        return true;
      }
      heldBatches++;
      heldBytes += batch.data.length;
      heldPoints += batch.points;
      const taker = takers.shift();
      if (taker) taker(lease(batch));
      else items.push(batch);
      return true;
    },
    whenReady(listener) {
      // Only an empty queue is sure to take the refused batch (its size is unknown here); otherwise
      // wait for the next ack. Answering "ready" while the offer would still fail made a refusing
      // producer re-offer in a synchronous loop until the stack overflowed.
      if (heldBatches === 0) listener();
      else readyListeners.push(listener);
    },
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
    depth(): QueueDepth {
      return { batches: heldBatches, bytes: heldBytes, points: heldPoints };
    },
    async close() {
      if (closed) return;
      closed = true;
      for (const t of takers.splice(0)) t(undefined);
      for (const l of readyListeners.splice(0)) l();
    },
  };
}
