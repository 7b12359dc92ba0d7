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
// - it lets go of a batch as soon as the kernel says the peer's process has read it (release(),
//   from window-trim.ts): under a carbon that keeps up, the window holds what is in flight, not
//   the socket buffers' maxima;
// - it keeps copies, in memory of its own (window-arena.ts), so that it costs what it counts;
// - after a peer that died (a reset, a close) or stopped reading (a write timeout), everything kept
//   comes back, however old: a peer that reads slower than we write (a busy carbon-cache) holds
//   seconds of data in its receive queue, so the age of a batch tells nothing of whether it was read.
// Carbon stores a point once per (metric, timestamp), so the duplicates this makes are harmless to
// it; `enabled` false (-resend-window 0) turns the window off for backends where they are not.
import { performance } from 'node:perf_hooks';
import type { Batch } from '../batch/batch.js';
import { createWindowArena } from './window-arena.js';

export interface ResendWindow {
  /** A batch the socket accepted (all of it is in the kernel by `at`, performance.now()). */
  add(batch: Batch, at?: number): void;
  /** Empties the window and returns, oldest first, what may not have been delivered. */
  drain(): Batch[];
  /** Where the stream written through the window stood before `time` (performance.now()): the end of the last batch added before it; undefined when the window holds none that old. */
  writtenBefore(time: number): number | undefined;
  /** Lets go of the batches that end at or before `offset` of the stream (the peer read them). */
  release(offset: number): void;
  readonly points: number;
  readonly bytes: number;
  /** The most bytes it held at once. */
  readonly peakBytes: number;
  /** The bytes of the memory its copies take (whole chunks). */
  readonly bufferBytes: number;
}

export function createResendWindow(opts: {
  enabled: boolean;
  maxBytes: number;
  /** Bytes written after a batch beyond which the peer has surely read it; Infinity: unknown (keep up to maxBytes). */
  coverBytes: number;
  /** A batch let go of at maxBytes that the peer may not have read yet. */
  onUncovered?: (batch: Batch) => void;
}): ResendWindow {
  /** Oldest first; `end`: the stream's offset just past the batch, `at`: when the socket had all of it. */
  const entries: Array<{ batch: Batch; end: number; at: number }> = [];
  let bytes = 0;
  let points = 0;
  let peakBytes = 0;
  /** Bytes written through the window since it was made. */
  let written = 0;
  let lastAddedAt = -Infinity;
  const on = opts.enabled && opts.maxBytes > 0;
  const arena = createWindowArena();
  /** Lets go of the oldest batch; its copy is valid until freed(). */
  const dropOldest = (): Batch => {
    const { batch } = entries.shift()!;
    bytes -= batch.data.length;
    points -= batch.points;
    return batch;
  };
  const freed = (): void => arena.release(entries[0]?.batch.data);
  return {
    add(batch, at = performance.now()) {
      if (!on) return;
      written += batch.data.length;
      lastAddedAt = at;
      entries.push({ batch: { ...batch, data: arena.copy(batch.data) }, end: written, at });
      bytes += batch.data.length;
      points += batch.points;
      // Read for sure: as many bytes as the connection can hold were written after it.
      while (entries.length > 0 && bytes - entries[0]!.batch.data.length >= opts.coverBytes) dropOldest();
      while (entries.length > 0 && bytes > opts.maxBytes) opts.onUncovered?.(dropOldest());
      freed();
      if (bytes > peakBytes) peakBytes = bytes;
    },
    drain() {
      const out = entries.map((e) => e.batch);
      entries.length = 0;
      bytes = 0;
      points = 0;
      // The copies handed out are the caller's now.
      arena.forget();
      return out;
    },
    writtenBefore(time) {
      if (lastAddedAt < time) return written;
      for (let i = entries.length - 1; i >= 0; i--) if (entries[i]!.at < time) return entries[i]!.end;
      return undefined;
    },
    release(offset) {
      while (entries.length > 0 && entries[0]!.end <= offset) dropOldest();
      freed();
    },
    get points() {
      return points;
    },
    get bytes() {
      return bytes;
    },
    get peakBytes() {
      return peakBytes;
    },
    get bufferBytes() {
      return arena.bytes;
    },
  };
}
