// Senders the router refused wait here. They are woken once a queue that refused has room, or a
// destination comes up or writes a batch; never while batches handed over by a destination that
// left the ring still wait for room (those go first).
import type { BatchQueue } from '../batch/batch.js';

export interface Wakeups {
  wait(listener: () => void): void;
  /** Wakes every waiting sender, unless `ready()` says handed-over batches still wait. */
  notify(): void;
  /** Notifies once this queue, which refused a reservation, has room (one listener per queue). */
  watch(queue: BatchQueue): void;
  /** Wakes every waiting sender now (destroy). */
  releaseAll(): void;
}

export function createWakeups(ready: () => boolean): Wakeups {
  const waiting: Array<() => void> = [];
  /** Queues that refused a reservation and whose whenReady we wait on. */
  const watched = new Set<BatchQueue>();
  const releaseAll = (): void => {
    for (const w of waiting.splice(0)) w();
  };
  const notify = (): void => {
    if (!ready()) return;
    releaseAll();
  };
  return {
    wait(listener) {
      waiting.push(listener);
    },
    notify,
    watch(queue) {
      if (watched.has(queue)) return;
      watched.add(queue);
      queue.whenReady(() => {
        watched.delete(queue);
        setImmediate(notify);
      });
    },
    releaseAll,
  };
}
