// The unit that moves between stages, and the contracts between them.
import type { Stage } from '../lifecycle/stage.js';

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
export interface BatchSink extends Stage {
  offer(batch: Batch): boolean;
  /** Calls `listener` once, as soon as a refused offer may succeed. */
  whenReady(listener: () => void): void;
  /**
   * Settles once every batch offered so far is where it survives this process: a spool's on its
   * disk (its appends are asynchronous). Absent where the sink keeps batches in memory only.
   */
  written?(): Promise<void>;
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

/**
 * Room held on a queue for one batch, taken before the batch is offered anywhere: a caller that
 * must place a batch on several queues or on none (the router) reserves on every one first, then
 * commits on every one. `commit` cannot be refused; `cancel` gives the room back.
 */
export interface Reservation {
  commit(batch: Batch): void;
  cancel(): void;
}

/** A bounded queue of batches (in memory, or on disk with the spool). */
export interface BatchQueue extends BatchSink {
  /**
   * Holds room for a batch of `bytes` (as it will be stored) and `points`, or answers undefined
   * when it does not fit now (the caller waits on whenReady). The full policy does not apply here:
   * the caller decides. A reservation is bounded by the queue's own limits, in its own units.
   */
  reserve(bytes: number, points: number): Reservation | undefined;
  /** The queue's limits in the units depth() reports; Infinity where it has none. */
  limits(): QueueDepth;
  /** Why the queue cannot store batches now (the spool's disk full or not writable); undefined when it can. */
  fault(): string | undefined;
  /** Resolves with the oldest batch not yet taken; with undefined once closed and empty. */
  take(): Promise<Lease | undefined>;
  /** The oldest batch not yet taken, without waiting; undefined when there is none. */
  takeNow(): Lease | undefined;
  /** Batches, bytes and points held, including those taken but not yet acknowledged. */
  depth(): QueueDepth;
}

export type FullPolicy = 'block' | 'drop';
