// -console-out: the points printed to stdout instead of sent, with stdout's own backpressure.
import type { Batch } from '../batch/batch.js';
import type { SplitSink } from './split.js';

export function createConsoleSink(out: NodeJS.WritableStream = process.stdout): SplitSink {
  let blocked = false;
  const waiting: Array<() => void> = [];
  const write = (batch: Batch): boolean => {
    if (blocked) return false;
    if (!out.write(batch.data)) {
      blocked = true;
      out.once('drain', () => {
        blocked = false;
        for (const w of waiting.splice(0)) w();
      });
    }
    return true;
  };
  return {
    offer: write,
    offerSplit(batch, split) {
      if (blocked) return false;
      const lines = split(batch.data, undefined, 1).parts.get(0);
      return lines === undefined || write(lines);
    },
    whenReady(listener) {
      if (blocked) waiting.push(listener);
      else listener();
    },
    async close() {},
    destroy() {},
  };
}
