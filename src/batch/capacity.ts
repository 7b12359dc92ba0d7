// The bound every BatchQueue keeps (in memory or spooled): batches and bytes held, counting those
// taken but not yet acknowledged, the full policy, and whenReady's promise. A queue asks fits()
// before it takes a batch, hold()s what it takes and release()s what is acknowledged.
import type { Batch, FullPolicy, QueueDepth } from './batch.js';

export interface Capacity {
  /** Whether a batch of `bytes` fits now; an empty queue takes any batch, so an oversized one still moves. */
  fits(bytes: number): boolean;
  /** offer()'s answer for a batch that does not fit: false under 'block', true under 'drop' (reported). */
  whenFull(batch: Batch, bytes: number): boolean;
  hold(bytes: number, points: number): void;
  /** hold()s when the batch fits; otherwise remembers its size for whenReady and answers false. */
  tryHold(bytes: number, points: number): boolean;
  release(bytes: number, points: number): void;
  /** Calls back once a batch the size of the last refused one fits. */
  whenReady(listener: () => void): void;
  depth(): QueueDepth;
  limits(): QueueDepth;
  /** Wakes every waiting listener (their next offer is refused by the closed queue). */
  close(): void;
}

export function createCapacity(opts: {
  maxBatches: number;
  maxBytes: number;
  policy: FullPolicy;
  onDrop?: (batch: Batch) => void;
}): Capacity {
  const listeners: Array<() => void> = [];
  let batches = 0;
  let bytesHeld = 0;
  let points = 0;
  // The size of the batch refused last: whenReady waits until one that big fits, so a producer
  // that offers again on every callback neither spins nor recurses. 1: the smallest batch.
  let refusedBytes = 1;

  const hold = (bytes: number, n: number): void => {
    batches++;
    bytesHeld += bytes;
    points += n;
  };

  const fits = (bytes: number): boolean =>
    batches === 0 || (batches < opts.maxBatches && bytesHeld + bytes <= opts.maxBytes);

  return {
    fits,
    whenFull(batch, bytes) {
      if (opts.policy === 'block') {
        refusedBytes = bytes;
        return false;
      }
      opts.onDrop?.(batch);
      return true;
    },
    hold,
    tryHold(bytes, n) {
      if (!fits(bytes)) {
        refusedBytes = bytes;
        return false;
      }
      hold(bytes, n);
      return true;
    },
    release(bytes, n) {
      batches--;
      bytesHeld -= bytes;
      points -= n;
      if (listeners.length > 0 && fits(refusedBytes)) for (const l of listeners.splice(0)) l();
    },
    whenReady(listener) {
      if (fits(refusedBytes)) listener();
      else listeners.push(listener);
    },
    depth: () => ({ batches, bytes: bytesHeld, points }),
    limits: () => ({ batches: opts.maxBatches, bytes: opts.maxBytes, points: Infinity }),
    close() {
      for (const l of listeners.splice(0)) l();
    },
  };
}
