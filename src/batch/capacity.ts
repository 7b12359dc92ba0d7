// The bound every BatchQueue keeps (in memory or spooled): batches, bytes and points held,
// counting those taken but not yet acknowledged, the full policy, and whenReady's promise. A queue
// asks fits() before it takes a batch, hold()s what it takes and release()s what is acknowledged.
import type { Batch, FullPolicy, QueueDepth } from './batch.js';

/**
 * Bytes are a hard bound. Points are a soft one (the memory a queue holds is its bytes): an empty
 * queue takes one batch of up to this many times its points bound, so the requests proxies send
 * (up to twice their -batch-size once they join queued batches, against the default 4,096-point
 * -outgoing-queue-cap) and bigger ones a client may post still move, while one request can never
 * pass a queue's cap by more than this: a larger batch is refused, never taken whole.
 */
export const EMPTY_QUEUE_POINTS_OVERSHOOT = 32;

/** Whether a queue with these limits could ever take a batch this big (when it is empty). */
export function canEverHold(limits: QueueDepth, bytes: number, points: number): boolean {
  return bytes <= limits.bytes && points <= limits.points * EMPTY_QUEUE_POINTS_OVERSHOOT;
}

export interface Capacity {
  /** Whether a batch of `bytes` and `points` fits now (see EMPTY_QUEUE_POINTS_OVERSHOOT for an empty queue). */
  fits(bytes: number, points?: number): boolean;
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
  /** Data points held at most; Infinity (the default) when only bytes and batches bound the queue. */
  maxPoints?: number;
  policy: FullPolicy;
  onDrop?: (batch: Batch) => void;
}): Capacity {
  const listeners: Array<() => void> = [];
  const limits: QueueDepth = { batches: opts.maxBatches, bytes: opts.maxBytes, points: opts.maxPoints ?? Infinity };
  let batches = 0;
  let bytesHeld = 0;
  let points = 0;
  // The size of the batch refused last: whenReady waits until one that big fits, so a producer
  // that offers again on every callback neither spins nor recurses. 1 byte: the smallest batch.
  let refusedBytes = 1;
  let refusedPoints = 0;

  const hold = (bytes: number, n: number): void => {
    batches++;
    bytesHeld += bytes;
    points += n;
  };

  const fits = (bytes: number, n = 0): boolean =>
    batches === 0 ? canEverHold(limits, bytes, n) : batches < limits.batches && bytesHeld + bytes <= limits.bytes && points + n <= limits.points;

  const refused = (bytes: number, n: number): void => {
    refusedBytes = bytes;
    refusedPoints = n;
  };

  return {
    fits,
    whenFull(batch, bytes) {
      if (opts.policy === 'block') {
        refused(bytes, batch.points);
        return false;
      }
      opts.onDrop?.(batch);
      return true;
    },
    hold,
    tryHold(bytes, n) {
      if (!fits(bytes, n)) {
        refused(bytes, n);
        return false;
      }
      hold(bytes, n);
      return true;
    },
    release(bytes, n) {
      batches--;
      bytesHeld -= bytes;
      points -= n;
      if (listeners.length > 0 && fits(refusedBytes, refusedPoints)) for (const l of listeners.splice(0)) l();
    },
    whenReady(listener) {
      if (fits(refusedBytes, refusedPoints)) listener();
      else listeners.push(listener);
    },
    depth: () => ({ batches, bytes: bytesHeld, points }),
    limits: () => limits,
    close() {
      for (const l of listeners.splice(0)) l();
    },
  };
}
