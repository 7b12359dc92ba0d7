// Plain TCP carbon sends no acknowledgements: a batch "written" has only reached our kernel, and
// what sits in the socket buffers (ours and the peer's) when a destination dies is lost without
// a trace. The resend window narrows that gap: it keeps references to the last `maxBytes` of
// batches written, so that after the connection dies they are written again. A peer that died
// had read all but its last moments: then only what was written in the last `maxAgeMs` before
// the newest write comes back. A peer that stopped reading (a write timeout) holds up to its
// socket buffers' worth, however long that took to fill: then all of the last `maxBytes` comes
// back. Carbon stores a point once per (metric, timestamp), so the duplicates this makes are
// harmless to it; `maxAgeMs` 0 turns the window off for backends where they are not.
import type { Batch } from '../batch/batch.js';

export interface ResendWindow {
  /** A batch the socket accepted. */
  add(batch: Batch): void;
  /**
   * Empties the window and returns, oldest first, what may not have been delivered: the batches
   * written within maxAgeMs of the newest, or with `whole` (the peer stopped reading) all of them.
   */
  drain(whole: boolean): Batch[];
  readonly points: number;
}

export function createResendWindow(opts: { maxAgeMs: number; maxBytes: number; now?: () => number }): ResendWindow {
  const now = opts.now ?? Date.now;
  const entries: Array<{ batch: Batch; at: number }> = [];
  let bytes = 0;
  let points = 0;
  const on = opts.maxAgeMs > 0 && opts.maxBytes > 0;
  return {
    add(batch) {
      if (!on) return;
      entries.push({ batch, at: now() });
      bytes += batch.data.length;
      points += batch.points;
      while (entries.length > 0 && bytes > opts.maxBytes) {
        const { batch: oldest } = entries.shift()!;
        bytes -= oldest.data.length;
        points -= oldest.points;
      }
    },
    drain(whole) {
      const newest = entries.at(-1)?.at ?? 0;
      const out = entries.filter((e) => whole || newest - e.at <= opts.maxAgeMs).map((e) => e.batch);
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
