// The unit that moves between stages, and the contracts between them.

/**
 * Complete, LF-terminated, validated Graphite plaintext lines, and how many there are. When
 * `rawBytes` is set, `data` holds those lines gzipped (one or more gzip members) and `rawBytes`
 * is their size before compression.
 */
export interface Batch {
  readonly data: Buffer;
  readonly points: number;
  readonly rawBytes?: number;
}

/**
 * Where a stage hands its batches. `offer` never loses a batch silently:
 * - true: taken (queued, written, or dropped and counted because the operator chose `drop`);
 * - false: refused because full; the caller still owns the batch, must stop producing
 *   (pause sockets, answer 503) and may offer again once `whenReady` calls back.
 */
export interface BatchSink {
  offer(batch: Batch): boolean;
  /** Calls `listener` once, as soon as a refused offer may succeed. */
  whenReady(listener: () => void): void;
  /** Stops accepting, delivers what it holds within its bounded wait; safe to call twice. */
  close(): Promise<void>;
}

/** A batch taken from a queue; `ack` once it is delivered, so its space (or spool record) is freed. */
export interface Lease {
  readonly batch: Batch;
  ack(): void;
}

export interface QueueDepth {
  readonly batches: number;
  readonly bytes: number;
  readonly points: number;
}

/** A bounded queue of batches (in memory, or on disk with the spool). */
export interface BatchQueue extends BatchSink {
  /** Resolves with the oldest batch not yet taken; with undefined once closed and empty. */
  take(): Promise<Lease | undefined>;
  /** The oldest batch not yet taken, without waiting; undefined when there is none. */
  takeNow(): Lease | undefined;
  /** Batches, bytes and points held, including those taken but not yet acknowledged. */
  depth(): QueueDepth;
}

export type FullPolicy = 'block' | 'drop';
