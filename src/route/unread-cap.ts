// Bounds what one destination connection holds that the peer's process has not read. Written flat
// out to a peer that reads slower, the kernel fills our send buffer and the peer's receive buffer to
// their autotuned maxima (4 + 32 MiB here), and the resend window must keep a copy of all of it:
// memory the relay pays for bytes the kernel already holds, and at -resend-window-bytes a window
// that lets go of what may be unread. Where the peer's receive queue can be seen (a process of this
// host, send-queue.ts), the writer waits before its next write while the connection holds
// -max-unread-bytes unread, until the peer read below it: the destination's queue fills instead and
// the senders are paused (backpressure), and the window holds the cap and its margin. A peer whose
// count does not move for the write timeout while it is at the cap has stopped reading: it is stuck,
// as the write watchdog finds one whose send queue does not move. A peer on another host cannot be
// seen and is written to as before.
import type { UnreadBytes } from '../net/send-queue.js';

/** The most a connection to a peer that can be seen is let hold unread unless told (-max-unread-bytes): ample in flight for a local carbon. */
export const DEFAULT_MAX_UNREAD_BYTES = 8 * 1024 * 1024;
/** How often the counts are looked at while waiting (sock_diag: microseconds a look). */
const LOOK_EVERY_MS = 10;

export interface UnreadCapWait {
  /** The connection's counts; undefined when it is not listed. */
  unread(): UnreadBytes | undefined;
  /** Waits `ms`, or less when the connection breaks: the reason then. */
  pause(ms: number): Promise<Error | undefined>;
  /** No change of the counts for this long at the cap: the peer stopped reading. Infinity: never. */
  stallMs: number;
  now?: () => number;
  capBytes: number;
}

/** What the wait ended with: room under the cap (or a peer that cannot be seen), a broken connection, or a peer that read nothing for `stalledMs`. */
export type UnreadCapResult = { kind: 'room' } | { kind: 'broken'; err: Error } | { kind: 'stalled'; stalledMs: number };

const unreadOf = (counts: UnreadBytes | undefined): number | undefined => (counts?.peerUnread === undefined ? undefined : counts.sendQueue + counts.peerUnread);

/** Resolves once the connection holds less than the cap unread (at once when it does, or when the peer cannot be seen). */
export async function untilUnreadBelowCap(opts: UnreadCapWait): Promise<UnreadCapResult> {
  const now = opts.now ?? Date.now;
  const cap = opts.capBytes;
  let unread = unreadOf(opts.unread());
  let lastMoved = now();
  while (unread !== undefined && unread >= cap) {
    const err = await opts.pause(LOOK_EVERY_MS);
    if (err) return { kind: 'broken', err };
    const next = unreadOf(opts.unread());
    if (next !== unread) lastMoved = now();
    else if (now() - lastMoved >= opts.stallMs) return { kind: 'stalled', stalledMs: now() - lastMoved };
    unread = next;
  }
  return { kind: 'room' };
}
