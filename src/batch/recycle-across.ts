// Gives raw batch buffers back to their pool once a stage that turns each batch into another (the
// proxy's compression) has produced its result: by then the raw bytes have been read for good.
// into(stage) wraps what the batcher offers to and remembers each batch the stage accepts, in
// order; out(sink) wraps the stage's own sink: the first offer of each batch there means the
// oldest remembered one is done, and its buffer goes back to the pool.
//
// This leans on the stage handing on one batch per batch taken, in the order taken (as
// compressing-sink.ts promises). A batch there that does not match the oldest one remembered
// (points, raw size) stops recycling for good: a stage that ever behaved otherwise would cost
// allocations again, never data.
import type { Batch, BatchSink } from './batch.js';
import type { BufferPool } from './buffer-pool.js';

export interface RecycleAcross {
  /** The stage as the batcher sees it. */
  into(stage: BatchSink): BatchSink;
  /** The stage's sink as the stage sees it. */
  out(sink: BatchSink): BatchSink;
}

export function recycleAcross(pool: BufferPool): RecycleAcross {
  /** Raw batches the stage accepted and has not handed on yet, oldest first. */
  const inStage: Batch[] = [];
  let lastOut: Batch | undefined;
  let stopped = false;

  const handedOn = (produced: Batch): void => {
    if (produced === lastOut || stopped) return;
    lastOut = produced;
    const raw = inStage.shift();
    if (raw !== undefined && raw.points === produced.points && raw.data.length === produced.rawBytes) {
      pool.give(raw.data);
    } else {
      stopped = true;
      inStage.length = 0;
    }
  };

  return {
    into: (stage) => ({
      offer(batch) {
        const taken = stage.offer(batch);
        if (taken && !stopped) inStage.push(batch);
        return taken;
      },
      whenReady: (listener) => stage.whenReady(listener),
      close: () => stage.close(),
    }),
    out: (sink) => ({
      offer(batch) {
        handedOn(batch);
        return sink.offer(batch);
      },
      whenReady: (listener) => sink.whenReady(listener),
      close: () => sink.close(),
    }),
  };
}
