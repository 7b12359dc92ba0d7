// Lets the resend window go of what the destination's process has read, as the kernel counts it,
// instead of keeping everything until the socket buffers' maxima (40 MB a connection here) were
// written after it: a carbon that keeps up leaves the window holding what is in flight.
//
// A look at the kernel's counts (send-queue.ts) gives our send queue and, when the peer is a
// process of this host, its receive queue: together, what of the stream written before the look
// the peer's process has not read. The stream's offset then (the window's writtenBefore) less that
// count, and less a margin for what the process read and has not handled, is read for sure: the
// batches ending before it are let go of. Where the peer is on another host its receive queue
// cannot be seen: the window keeps the count-based cover.
//
// With the sock_diag addon a look costs microseconds, and the window is trimmed every 20 ms above
// one chunk. Without it, /proc/net/tcp costs 6-13 ms a read on this machine whatever it lists (the
// kernel walks its connection hash), so it is read only while the window holds more than 4 MiB, at
// most every 100 ms, and the reads are shared with the other destinations and the watchdogs.
import { unreadIsCheap, type UnreadBytes } from '../net/send-queue.js';
import { CHUNK_BYTES } from './window-arena.js';
import type { ResendWindow } from './resend-window.js';

/** How often at most the window is trimmed by the kernel's counts. */
const TRIM_EVERY_MS = unreadIsCheap ? 20 : 100;
/** The window is trimmed by measure only above this: without the addon, a trickle costs no reads of the table. */
const TRIM_ABOVE_BYTES = unreadIsCheap ? CHUNK_BYTES : 4 * 1024 * 1024;

/**
 * Kept beyond what the kernel counts unread: what the peer's process has read and not yet made
 * safe. A carbon-cache holds what it read in its cache until its writer thread reaches whisper,
 * and a SIGTERM ends that thread without emptying the cache (carbon/writer.py: writeForever loops
 * while the reactor runs); at 256 KiB the scale-out test at 2,000,000 points per proxy found 62-800
 * points of a stopped carbon's share in no whisper file. 4 MiB a destination covers its last
 * 70,000-odd lines.
 */
export const HANDLED_MARGIN_BYTES = 4 * 1024 * 1024;

export interface WindowTrim {
  /** A batch was added to the window: trims within everyMs while it holds more than aboveBytes. */
  added(): void;
  /** Trims at once by counts the caller just read, not at the timer's next look (a writer that waits for the peer to read). */
  by(counts: UnreadBytes | undefined): void;
  /** A new connection: what was learnt of the last one does not apply. */
  reset(): void;
  stop(): void;
}

export function createWindowTrim(opts: {
  window: ResendWindow;
  /** The current connection's counts; undefined when there is none or it cannot be read. */
  unread: () => UnreadBytes | undefined;
  /** A trim that threw (it is tried again at the next batch). */
  onFailure: (err: Error) => void;
  everyMs?: number;
  aboveBytes?: number;
}): WindowTrim {
  const { window } = opts;
  const everyMs = opts.everyMs ?? TRIM_EVERY_MS;
  const aboveBytes = opts.aboveBytes ?? TRIM_ABOVE_BYTES;
  let timer: ReturnType<typeof setTimeout> | undefined;
  /** The connection's peer cannot be seen (another host, or no table): trimming waits for the next connection. */
  let unseen = false;
  /** Our side of the last read: where the stream stood and our send queue. */
  let last: { readStartedAt: number; written: number; sendQueue: number } | undefined;

  const schedule = (): void => {
    if (timer !== undefined || unseen || window.bytes <= aboveBytes) return;
    timer = setTimeout(trim, everyMs);
    timer.unref();
  };

  /** A trim that throws is counted; it is tried again at the next batch. */
  const guarded = (trimming: () => void): void => {
    try {
      trimming();
    } catch (err) {
      opts.onFailure(err as Error);
    }
  };

  function trim(): void {
    timer = undefined;
    guarded(() => trimBy(opts.unread()));
  }

  function trimBy(counts: UnreadBytes | undefined): void {
    if (counts?.peerUnread === undefined) {
      unseen = true;
      return;
    }
    const written = window.writtenBefore(counts.readStartedAt);
    if (written === undefined) return;
    // The peer's line read before ours: pair it with our side of an earlier read, so that our
    // side is read first and nothing moving between the two lines goes uncounted.
    const ours = !counts.peerListedFirst ? { written, sendQueue: counts.sendQueue } : last !== undefined && last.readStartedAt < counts.readStartedAt ? last : undefined;
    last = { readStartedAt: counts.readStartedAt, written, sendQueue: counts.sendQueue };
    if (ours === undefined) return schedule();
    const held = window.bytes;
    window.release(ours.written - ours.sendQueue - counts.peerUnread - HANDLED_MARGIN_BYTES);
    // A peer that reads is looked at again; one that read nothing waits for the next batch.
    if (window.bytes < held) schedule();
  }

  return {
    added: schedule,
    by(counts) {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      guarded(() => trimBy(counts));
    },
    reset() {
      unseen = false;
      last = undefined;
    },
    stop() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
