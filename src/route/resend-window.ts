// Plain TCP carbon sends no acknowledgements: a batch "written" has only reached our kernel. Until
// the peer's application reads it, it sits in our socket's send queue or in the peer's receive
// queue, and a peer that dies or stops reading takes it with it without a trace. The resend window
// keeps references to the batches written lately so that they can be written again (or, in
// hash-route, handed to the ring):
// - it keeps a batch until `coverBytes` more bytes were written after it: the most one connection
//   can hold that the peer may not have read (our send buffer plus its receive buffer, both at
//   their kernel maximum: socket-buffers.ts). Anything older has left both buffers, so was read;
// - it never holds more than `maxBytes` (the memory bound, -resend-window-bytes). A batch let go
//   of at the bound while still within `coverBytes` is reported to `onUncovered`: it is lost if
//   the peer stops reading before it read it (the operator set the bound below what the socket holds);
// - after a peer that died (a reset, a close) or stopped reading (a write timeout), everything kept
//   comes back, however old: a peer that reads slower than we write (a busy carbon-cache) holds
//   seconds of data in its receive queue, so the age of a batch tells nothing of whether it was read.
// Carbon stores a point once per (metric, timestamp), so the duplicates this makes are harmless to
// it; `enabled` false (-resend-window 0) turns the window off for backends where they are not.
import type { Batch } from '../batch/batch.js';

export interface ResendWindow {
  /** A batch the socket accepted. */
  add(batch: Batch): void;
  /** Empties the window and returns, oldest first, what may not have been delivered. */
  drain(): Batch[];
  readonly points: number;
  readonly bytes: number;
}

export function createResendWindow(opts: {
  enabled: boolean;
  maxBytes: number;
  /** Bytes written after a batch beyond which the peer has surely read it; Infinity: unknown (keep up to maxBytes). */
  coverBytes: number;
  /** A batch let go of at maxBytes that the peer may not have read yet. */
  onUncovered?: (batch: Batch) => void;
}): ResendWindow {
  const entries: Array<{ batch: Batch }> = [];
  let bytes = 0;
  let points = 0;
  const on = opts.enabled && opts.maxBytes > 0;
  const dropOldest = (): Batch => {
    const { batch } = entries.shift()!;
    bytes -= batch.data.length;
    points -= batch.points;
    return batch;
  };
  return {
    add(batch) {
      if (!on) return;
      entries.push({ batch });
      bytes += batch.data.length;
      points += batch.points;
      // Read for sure: as many bytes as the connection can hold were written after it.
      while (entries.length > 0 && bytes - entries[0]!.batch.data.length >= opts.coverBytes) dropOldest();
      while (entries.length > 0 && bytes > opts.maxBytes) opts.onUncovered?.(dropOldest());
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
    get bytes() {
      return bytes;
    },
  };
}
