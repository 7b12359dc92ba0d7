// Batches that must move to the hash ring's remaining destinations: what a destination that left
// the ring (or was deleted) still held, its queue and the unconfirmed batches of its resend
// window. They are placed in order, each all or nothing with reserveAll, before any new batch
// is accepted, so they are bounded by what the failed queue held, and they wait (never dropped)
// while the other queues are full or no destination is in the ring.
import type { Batch, BatchQueue } from '../batch/batch.js';
import { reserveAll, type Part } from './reserve.js';

export interface Handover {
  /** A batch to place; `placed` runs once it is on the other queues (to acknowledge its lease). */
  add(batch: Batch, placed: () => void): void;
  /** Places what it can, oldest first; true when nothing is left waiting. */
  flush(): boolean;
  readonly points: number;
}

export function createHandover<D>(opts: {
  /** The parts of a batch on the ring now; null when the ring is empty. */
  place: (batch: Batch) => Array<Part<D>> | null;
  onPlaced: (points: number) => void;
  /** Called (not synchronously) once a queue that refused may have room. */
  onRoom: () => void;
}): Handover {
  const waiting: Array<{ batch: Batch; placed: () => void }> = [];
  const watched = new Set<BatchQueue>();
  let points = 0;

  const watch = (queue: BatchQueue): void => {
    if (watched.has(queue)) return;
    watched.add(queue);
    queue.whenReady(() => {
      watched.delete(queue);
      setImmediate(opts.onRoom);
    });
  };

  return {
    add(batch, placed) {
      waiting.push({ batch, placed });
      points += batch.points;
    },
    flush() {
      let moved = 0;
      while (waiting.length > 0) {
        const next = waiting[0]!;
        const parts = opts.place(next.batch);
        if (parts === null) break;
        const room = reserveAll(parts, true);
        if (room.refused.length > 0) {
          watch(room.refused[0]!.queue);
          break;
        }
        room.commit();
        waiting.shift();
        points -= next.batch.points;
        moved += next.batch.points;
        next.placed();
      }
      if (moved > 0) opts.onPlaced(moved);
      return waiting.length === 0;
    },
    get points() {
      return points;
    },
  };
}
