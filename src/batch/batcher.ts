// One batcher shared by all connections: collects validated lines into batches of at most
// batchSize points, sent when full or flushIntervalMs after their first point. When the sink
// refuses a batch it is kept, in order, and add() returns false until the sink has room: the
// caller pauses its sockets. Nothing handed to add() is ever dropped here. add() copies what it is
// given into the batch being filled before it returns, so a caller may hand it a view of a buffer
// it reuses at once (the listeners read every connection into one shared buffer).
import type { Batch, BatchSink } from './batch.js';
import type { BufferPool } from './buffer-pool.js';
import type { Stage } from '../lifecycle/stage.js';
import { realTimers, type Timers } from '../lifecycle/timers.js';

/**
 * close(): flush and wait until the sink has taken everything; destroy(): stop the timer and stop
 * offering, keeping what is held countable by held().
 */
export interface Batcher extends Stage {
  /** Adds validated lines (copied: `data` is not read after the call); false means "stop reading until whenReady". The data is kept either way. */
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

/** Room a batch's buffer is first given, per point: a little over the last batch's bytes per point. */
const ROOM_FACTOR = 1.125;
/** Bytes per point assumed before the first batch: a collectd name with value and timestamp is 60 to 100. */
const FIRST_BYTES_PER_POINT = 100;
/** A batch that fills less than this share of its buffer leaves in a copy of its own size, and the buffer fills again. */
const KEEP_BUFFER_BELOW = 0.25;

export function createBatcher(opts: {
  batchSize: number;
  flushIntervalMs: number;
  sink: BatchSink;
  /** Where each batch's buffer comes from, when whoever reads the batches last gives them back. */
  pool?: BufferPool;
  timers?: Timers;
}): Batcher {
  const timers = opts.timers ?? realTimers;
  const take = (size: number): Buffer => (opts.pool ? opts.pool.take(size) : Buffer.allocUnsafe(size));
  /** The batch being filled: its bytes so far are fill[0, bytes). */
  let fill: Buffer | undefined;
  let bytes = 0;
  let bytesPerPoint = FIRST_BYTES_PER_POINT;
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
    if (points === 0 || !fill) return;
    let data: Buffer;
    if (bytes < fill.length * KEEP_BUFFER_BELOW) {
      // A small batch (a timer's flush at a trickle) must not hold a buffer sized for a full one
      // while it waits in a queue: it leaves in a copy, and the buffer is filled again.
      data = take(bytes);
      fill.copy(data, 0, 0, bytes);
    } else {
      data = fill.subarray(0, bytes);
      fill = undefined;
    }
    if (points === opts.batchSize) bytesPerPoint = bytes / points;
    const batch: Batch = { data, points };
    bytes = 0;
    points = 0;
    const wasEmpty = pending.length === 0;
    pending.push(batch);
    if (wasEmpty) drain();
  };

  /** Room for `more` bytes in the batch being filled: a buffer sized for a whole batch, or a larger one when the lines are longer than the last batch's. */
  const roomFor = (more: number): Buffer => {
    const needed = bytes + more;
    if (fill && needed <= fill.length) return fill;
    const size = Math.max(needed, Math.ceil(opts.batchSize * bytesPerPoint * ROOM_FACTOR), fill ? fill.length * 2 : 0);
    const larger = take(size);
    if (fill) {
      fill.copy(larger, 0, 0, bytes);
      opts.pool?.give(fill);
    }
    fill = larger;
    return larger;
  };

  const append = (data: Buffer, n: number): void => {
    roomFor(data.length).set(data, bytes);
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
