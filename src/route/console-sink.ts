// -console-out: the points printed to stdout instead of sent, with stdout's own backpressure.
import type { BatchSink } from '../batch/batch.js';

export function createConsoleSink(out: NodeJS.WritableStream = process.stdout): BatchSink {
  let blocked = false;
  const waiting: Array<() => void> = [];
  return {
    offer(batch) {
      if (blocked) return false;
      if (!out.write(batch.data)) {
        blocked = true;
        out.once('drain', () => {
          blocked = false;
          for (const w of waiting.splice(0)) w();
        });
      }
      return true;
    },
    whenReady(listener) {
      if (blocked) waiting.push(listener);
      else listener();
    },
    async close() {},
    destroy() {},
  };
}
