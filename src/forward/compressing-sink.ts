// Between the proxy's batcher and its in-memory queue: each batch is gzipped off the event loop
// (forward/gzip.ts) before it is queued, so the queue holds what goes on the wire (about a fourth
// of the raw bytes) and -queue-max-bytes buys four times the buffering for the same memory.
// Batches reach the queue in the order they were offered. At most `concurrency` batches are held
// here (compressing, or compressed and refused by the full queue); past that offer() refuses and
// the producer pauses. Each raw buffer goes back to `pool` as soon as its gzip is done. A batch
// whose gzip fails goes on raw (the forwarder compresses a raw batch itself), counted and logged.
import type { Batch, BatchSink } from '../batch/batch.js';
import type { BufferPool } from '../batch/buffer-pool.js';
import { log, rateLimitedLog } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';
import { gzip, type Gzip } from './gzip.js';

export interface CompressingSink extends BatchSink {
  /** Data points taken and not yet in the sink (compressing, or refused by it). */
  held(): number;
}

export function createCompressingSink(opts: {
  sink: BatchSink;
  concurrency: number;
  /** Where each raw batch's buffer goes back once gzipped (the batcher takes it again). */
  pool?: BufferPool;
  /** gzip.ts's gzip unless given. */
  compress?: Gzip;
  metrics?: Registry;
  log?: (m: string) => void;
}): CompressingSink {
  const failures = opts.metrics?.counter('polymur_worker_errors_total', 'Unexpected exceptions caught in the forwarder loops (the batch is kept and tried again), by loop');
  failures?.inc(0, { loop: 'compressor' });
  const failureLog = rateLimitedLog(opts.log ?? log);
  const gzipOf = opts.compress ?? gzip;
  /** Compressions in offer order; the head is handed to the sink first. */
  const held: Array<Promise<Batch>> = [];
  const readyListeners: Array<() => void> = [];
  const idleListeners: Array<() => void> = [];
  let pumping = false;
  let closed = false;
  let heldPoints = 0;

  const compress = async (batch: Batch): Promise<Batch> => {
    let data: Buffer;
    try {
      data = await gzipOf(batch.data);
    } catch (err) {
      failures?.inc(1, { loop: 'compressor' });
      failureLog(`gzip of a batch of ${batch.points} data points failed (${err instanceof Error ? err.message : String(err)}); it is queued uncompressed`);
      // Not given back to the pool: the queue holds this buffer now.
      return batch;
    }
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
      void held.shift(); // the head, settled: awaited above (compress never rejects)
      heldPoints -= batch.points;
      for (const l of readyListeners.splice(0)) l();
    }
    pumping = false;
    for (const l of idleListeners.splice(0)) l();
  };

  return {
    held: () => heldPoints,
    offer(batch) {
      if (closed || held.length >= opts.concurrency) return false;
      held.push(compress(batch));
      heldPoints += batch.points;
      if (!pumping) void pump();
      return true;
    },
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
