// Lets the resend window go of what the destination's process has read, as the kernel counts it,
// instead of keeping everything until the socket buffers' maxima (40 MB a connection here) were
// written after it: a carbon that keeps up leaves the window holding what is in flight.
//
// A read of /proc/net/tcp (send-queue.ts) gives our send queue and, when the peer is a process of
// this host, its receive queue: together, what of the stream written before the read began the
// peer's process has not read. The stream's offset at that moment (the window's writtenBefore)
// less that count is read for sure, and the batches ending before it are let go of. Where the peer
// is on another host its receive queue cannot be seen: the window keeps the count-based cover.
//
// The table costs some 10 ms a read on this machine whatever it lists (the kernel walks its
// connection hash), so it is read only while the window holds more than `aboveBytes`, at most
// once per `everyMs`, and the reads are shared with the other destinations and the watchdogs.
import type { UnreadBytes } from '../net/send-queue.js';
import type { ResendWindow } from './resend-window.js';

/** How often at most the window is trimmed by the kernel's counts. */
export const TRIM_EVERY_MS = 100;
/** The window is trimmed by measure only above this: a trickle costs no reads of the table. */
export const TRIM_ABOVE_BYTES = 4 * 1024 * 1024;

export interface WindowTrim {
  /** A batch was added to the window: trims within everyMs while it holds more than aboveBytes. */
  added(): void;
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

  function trim(): void {
    timer = undefined;
    try {
      const counts = opts.unread();
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
      window.release(ours.written - ours.sendQueue - counts.peerUnread);
      // A peer that reads is looked at again; one that read nothing waits for the next batch.
      if (window.bytes < held) schedule();
    } catch (err) {
      opts.onFailure(err as Error);
    }
  }

  return {
    added: schedule,
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
