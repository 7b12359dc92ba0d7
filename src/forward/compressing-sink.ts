// Between the proxy's batcher and its in-memory queue: each batch is gzipped off the event loop
// (forward/gzip.ts) before it is queued, so the queue holds what goes on the wire (about a fourth
// of the raw bytes) and -queue-max-bytes buys four times the buffering for the same memory.
// Batches reach the queue in the order they were offered. At most `concurrency` batches are held
// here (compressing, or compressed and refused by the full queue); past that offer() refuses and
// the producer pauses. Each raw buffer goes back to `pool` as soon as its gzip is done.
import type { Batch, BatchSink } from '../batch/batch.js';
import type { BufferPool } from '../batch/buffer-pool.js';
import { gzip } from './gzip.js';

export interface CompressingSink extends BatchSink {
  /** Data points taken and not yet in the sink (compressing, or refused by it). */
  held(): number;
}

export function createCompressingSink(opts: {
  sink: BatchSink;
  concurrency: number;
  /** Where each raw batch's buffer goes back once gzipped (the batcher takes it again). */
  pool?: BufferPool;
}): CompressingSink {
  /** Compressions in offer order; the head is handed to the sink first. */
  const held: Array<Promise<Batch>> = [];
  const readyListeners: Array<() => void> = [];
  const idleListeners: Array<() => void> = [];
  let pumping = false;
  let closed = false;
  let heldPoints = 0;

  const compress = async (batch: Batch): Promise<Batch> => {
    const data = await gzip(batch.data);
    opts.pool?.give(batch.data);
    return { data, points: batch.points, rawBytes: batch.data.length };
  };

  const sinkReady = (): Promise<void> => new Promise((resolve) => opts.sink.whenReady(resolve));

  /** Hands compressed batches to the sink in order, waiting while it refuses. */
  const pump = async (): Promise<void> => {
    pumping = true;
    while (held.length > 0) {
      const batch = await held[0]!;
      while (!opts.sink.offer(batch)) await sinkReady();
      held.shift();
      heldPoints -= batch.points;
      for (const l of readyListeners.splice(0)) l();
    }
    pumping = false;
    for (const l of idleListeners.splice(0)) l();
  };

  return {
    offer(batch) {
      if (closed || held.length >= opts.concurrency) return false;
      held.push(compress(batch));
      heldPoints += batch.points;
      if (!pumping) void pump();
      return true;
    },
    held: () => heldPoints,
    whenReady(listener) {
      if (!closed && held.length < opts.concurrency) listener();
      else readyListeners.push(listener);
    },
    /** Stops accepting and waits until everything held is in the sink (which its owner closes). */
    async close() {
      closed = true;
      if (pumping) await new Promise<void>((resolve) => idleListeners.push(resolve));
    },
    /** Stops accepting; compressions under way finish on their own and reach the sink while it takes them. */
    destroy() {
      closed = true;
      for (const l of idleListeners.splice(0)) l();
    },
  };
}
