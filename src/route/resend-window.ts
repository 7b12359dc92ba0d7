// Plain TCP carbon sends no acknowledgements: a batch "written" has only reached our kernel, and
// what sits in the socket buffers (ours and the peer's) when a destination dies is lost without
// a trace. The resend window narrows that gap: it keeps references to the batches written in the
// last `maxAgeMs` before the newest (and `maxBytes` at most), so that after the connection dies
// they are written again. Carbon stores a point once per (metric, timestamp), so the duplicates
// this makes are harmless to it; `maxAgeMs` 0 turns the window off for backends where they are not.
import type { Batch } from '../batch/batch.js';

export interface ResendWindow {
  /** A batch the socket accepted. */
  add(batch: Batch): void;
  /** Everything in the window, oldest first, and empties it (the connection died). */
  drain(): Batch[];
  readonly points: number;
}

export function createResendWindow(opts: { maxAgeMs: number; maxBytes: number; now?: () => number }): ResendWindow {
  const now = opts.now ?? Date.now;
  const entries: Array<{ batch: Batch; at: number }> = [];
  let bytes = 0;
  let points = 0;
  const dropOldest = (): void => {
    const { batch } = entries.shift()!;
    bytes -= batch.data.length;
    points -= batch.points;
  };
  return {
    add(batch) {
      if (opts.maxAgeMs <= 0 || opts.maxBytes <= 0) return;
      const at = now();
      entries.push({ batch, at });
      bytes += batch.data.length;
      points += batch.points;
      while (entries.length > 0 && (at - entries[0]!.at > opts.maxAgeMs || bytes > opts.maxBytes)) dropOldest();
    },
    drain() {
      const out = entries.map((e) => e.batch);
      entries.length = 0;
      bytes = 0;
      points = 0;
      return out;
    },
    get points() {
      return points;
    },
  };
}
