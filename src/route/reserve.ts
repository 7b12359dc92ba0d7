// Placing one batch on several queues, all or nothing: room is reserved on every queue first, in
// the units each queue limits itself by (bytes as stored and points), and only then committed.
// The router never offers a part a queue may refuse, so no answer of a queue is ever ignored.
import type { Batch, BatchQueue, Reservation } from '../batch/batch.js';

export interface Part<D> {
  readonly dest: D;
  readonly queue: BatchQueue;
  readonly batch: Batch;
}

export interface Reserved<D> {
  /** Parts whose queue had no room (full, faulty or closed). */
  readonly refused: ReadonlyArray<Part<D>>;
  /** Commits every part that got its room; cannot be refused. */
  commit(): void;
  /** Gives every reserved room back. */
  cancel(): void;
}

/** Reserves room for each part; with `allOrNothing` it stops at the first refusal (and holds nothing). */
export function reserveAll<D>(parts: Iterable<Part<D>>, allOrNothing: boolean): Reserved<D> {
  const held: Array<[Part<D>, Reservation]> = [];
  const refused: Array<Part<D>> = [];
  for (const part of parts) {
    const room = part.queue.reserve(part.batch.data.length, part.batch.points);
    if (room) {
      held.push([part, room]);
      continue;
    }
    refused.push(part);
    if (allOrNothing) break;
  }
  const cancel = (): void => {
    for (const [, room] of held.splice(0)) room.cancel();
  };
  if (allOrNothing && refused.length > 0) cancel();
  return {
    refused,
    commit() {
      for (const [part, room] of held.splice(0)) room.commit(part.batch);
    },
    cancel,
  };
}
