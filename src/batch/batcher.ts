// One batcher shared by all connections: collects validated lines into batches of at most
// batchSize points, sent when full or flushIntervalMs after their first point. When the sink
// refuses a batch it is kept, in order, and add() returns false until the sink has room: the
// caller pauses its sockets. Nothing handed to add() is ever dropped here.
import type { Batch, BatchSink } from './batch.js';
import type { BufferPool } from './buffer-pool.js';
import type { Stage } from '../lifecycle/stage.js';
import { realTimers, type Timers } from '../lifecycle/timers.js';

/**
 * close(): flush and wait until the sink has taken everything; destroy(): stop the timer and stop
 * offering, keeping what is held countable by held().
 */
export interface Batcher extends Stage {
  /** Adds validated lines; false means "stop reading until whenReady". The data is kept either way. */
  add(data: Buffer, points: number): boolean;
  whenReady(listener: () => void): void;
  /** Emits what it holds now (if anything). */
  flush(): void;
  /** Data points held: collected, and cut into batches the sink has not taken yet. */
  held(): number;
}

const LF = 0x0a;

/** Index just past the n-th LF of buf (n >= 1), or buf.length. */
function afterNthLine(buf: Buffer, n: number): number {
  let pos = 0;
  for (let i = 0; i < n; i++) {
    const nl = buf.indexOf(LF, pos);
    if (nl === -1) return buf.length;
    pos = nl + 1;
  }
  return pos;
}

/** The pieces copied one after another into `into` (exactly their total size). */
function fill(into: Buffer, pieces: readonly Buffer[]): Buffer {
  let at = 0;
  for (const piece of pieces) {
    into.set(piece, at);
    at += piece.length;
  }
  return into;
}

export function createBatcher(opts: {
  batchSize: number;
  flushIntervalMs: number;
  sink: BatchSink;
  /** Where each batch's buffer comes from, when whoever reads the batches last gives them back. */
  pool?: BufferPool;
  timers?: Timers;
}): Batcher {
  const timers = opts.timers ?? realTimers;
  let pieces: Buffer[] = [];
  let bytes = 0;
  let points = 0;
  let timer: unknown;
  /** Batches the sink refused, oldest first. */
  const pending: Batch[] = [];
  const readyListeners: Array<() => void> = [];
  let destroyed = false;
  let closing: Promise<void> | undefined;
  let endClose: (() => void) | undefined;

  const startTimer = (): void => {
    if (timer !== undefined || opts.flushIntervalMs <= 0 || destroyed) return;
    timer = timers.setTimeout(() => {
      timer = undefined;
      cut();
    }, opts.flushIntervalMs);
    (timer as { unref?: () => void }).unref?.();
  };

  const stopTimer = (): void => {
    if (timer === undefined) return;
    timers.clearTimeout(timer as never);
    timer = undefined;
  };

  /** Offers pending batches in order; true when none is left. */
  const drain = (): boolean => {
    if (destroyed) return false;
    while (pending.length > 0) {
      if (!opts.sink.offer(pending[0]!)) {
        opts.sink.whenReady(onSinkReady);
        return false;
      }
      pending.shift();
    }
    return true;
  };

  function onSinkReady(): void {
    if (!drain()) return;
    const listeners = readyListeners.splice(0);
    for (const l of listeners) l();
  }

  /** Turns what is collected into a batch and hands it on. */
  const cut = (): void => {
    stopTimer();
    if (points === 0) return;
    // The one copy of the data: the pieces may be views of socket chunks, which the batch must not
    // keep alive for as long as it waits in a queue.
    const data = opts.pool ? fill(opts.pool.take(bytes), pieces) : Buffer.concat(pieces, bytes);
    const batch: Batch = { data, points };
    pieces = [];
    bytes = 0;
    points = 0;
    const wasEmpty = pending.length === 0;
    pending.push(batch);
    if (wasEmpty) drain();
  };

  const append = (data: Buffer, n: number): void => {
    // Kept as given until cut() copies it: the caller does not reuse its buffers.
    pieces.push(data);
    bytes += data.length;
    points += n;
  };

  return {
    add(data, n) {
      let rest = data;
      let left = n;
      while (left > 0) {
        const room = opts.batchSize - points;
        if (left <= room) {
          append(rest, left);
          left = 0;
        } else {
          const cutAt = afterNthLine(rest, room);
          append(rest.subarray(0, cutAt), room);
          rest = rest.subarray(cutAt);
          left -= room;
        }
        if (points >= opts.batchSize) cut();
        else startTimer();
      }
      if (opts.flushIntervalMs <= 0) cut();
      return pending.length === 0;
    },
    whenReady(listener) {
      if (pending.length === 0) listener();
      else readyListeners.push(listener);
    },
    flush: cut,
    held: () => points + pending.reduce((sum, b) => sum + b.points, 0),
    close() {
      closing ??= new Promise<void>((resolve) => {
        cut();
        endClose = resolve;
        if (pending.length === 0 || destroyed) resolve();
        else readyListeners.push(resolve);
      });
      return closing;
    },
    destroy() {
      destroyed = true;
      stopTimer();
      // A pending close() resolves; what is held stays counted by held().
      endClose?.();
    },
  };
}
