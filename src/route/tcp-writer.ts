// One destination's writer: takes batches from its queue and writes each whole buffer to a TCP
// connection, honouring write()/'drain'. A batch is acknowledged once the socket has flushed it
// to the kernel; one in hand when the connection dies is written again after the reconnect
// (a duplicate is possible, a loss is not). Reconnects back off exponentially.
//
// Plain carbon never acknowledges: what the kernel accepted may still die in the socket buffers
// with the peer. The resend window (resend-window.ts) keeps what the connection may still hold
// unread and writes the batches of the last moments before a connection died again after the
// reconnect; window-trim.ts lets it go of what the kernel says the peer's process has read. A peer
// that accepts the connection but stops reading is caught by the write watchdog
// (write-watchdog.ts): no byte accepted for the write timeout while data waits drops the
// connection and reports the destination stuck; then all the window kept is written again (or,
// in hash-route, handed to the ring).
import { connect, type Socket } from 'node:net';
import type { Batch, BatchQueue, Lease } from '../batch/batch.js';
import type { Stage } from '../lifecycle/stage.js';
import type { DestinationAddress } from './destination.js';
import { createResendWindow, type ResendWindow } from './resend-window.js';
import { createWindowTrim, HANDLED_MARGIN_BYTES } from './window-trim.js';
import { DEFAULT_MAX_UNREAD_BYTES, untilUnreadBelowCap } from './unread-cap.js';
import { createWriteWatchdog } from './write-watchdog.js';
import { readSendQueue, readUnread, type Endpoint, type UnreadBytes } from '../net/send-queue.js';
import { PolymurError } from '../errors.js';

/** Pieces a batch is handed to the socket in: each accepted piece is a sign of progress. */
const WRITE_PIECE_BYTES = 64 * 1024;
/** The longest pause before reconnecting to a destination that timed out again and again. */
const MAX_STUCK_PAUSE_MS = 60_000;

export class WriteTimeoutError extends PolymurError {
  readonly code = 'POLYMUR_ERR_WRITE_TIMEOUT';
  constructor(
    readonly destination: string,
    readonly stalledMs: number,
  ) {
    super(`write timeout: ${destination} accepted no byte for ${(stalledMs / 1000).toFixed(1)}s`);
  }
}

/** The connection's two ends; undefined once it is closed. */
function endpoints(s: Socket): [Endpoint, Endpoint] | undefined {
  if (s.localAddress === undefined || s.localPort === undefined || s.remoteAddress === undefined || s.remotePort === undefined) return undefined;
  return [
    { address: s.localAddress, port: s.localPort },
    { address: s.remoteAddress, port: s.remotePort },
  ];
}

/** What our kernel still holds for the connection, unacknowledged; undefined when unknown. */
function sendQueue(s: Socket): number | undefined {
  const ends = endpoints(s);
  return ends && readSendQueue(...ends);
}

/** What the connection holds that the peer's process has not read; undefined when unknown. */
function unreadOf(s: Socket): UnreadBytes | undefined {
  const ends = endpoints(s);
  return ends && readUnread(...ends);
}

/** What the connection holds unread as far as it can be seen: our send queue, and the peer's receive queue when it is listed; undefined when unknown. */
function heldUnread(s: Socket): number | undefined {
  const counts = unreadOf(s);
  return counts && counts.sendQueue + (counts.peerUnread ?? 0);
}

const sum = (batches: readonly Batch[], of: (b: Batch) => number): number => batches.reduce((n, b) => n + of(b), 0);

export interface WriterEvents {
  /** A connection was established. */
  onUp(): void;
  /** A connect attempt failed or the connection broke; `consecutive` counts failed connects in a row. */
  onDown(reason: string, consecutive: number): void;
  /** The connection was dropped because the destination stopped reading (before onDown); `unread` is what the window kept to write again. */
  onStuck(err: WriteTimeoutError, unread: { points: number; bytes: number }): void;
  onWritten(batch: Batch): void;
  /** A batch of the resend window was written again after a reconnect. */
  onResent(batch: Batch): void;
  /** The window let go of a batch at its memory bound that the peer may not have read yet. */
  onUncovered(batch: Batch): void;
  /** The writer's loop failed for a reason other than the connection; it carries on after a pause. */
  onFailure(err: Error): void;
}

export interface TcpWriter extends Stage {
  readonly connected: boolean;
  /** Hands over the batch kept for a retry (for failover to other destinations). */
  takeHeld(): Lease | undefined;
  /** Hands over the written batches waiting to be written again (for failover). */
  takeUnconfirmed(): Batch[];
  /** What the resend window holds, for /metrics. */
  readonly resendWindow: Pick<ResendWindow, 'bytes' | 'peakBytes' | 'bufferBytes'>;
  /** close(): stops once its queue is closed and drained (the caller bounds the wait); destroy(): at once. */
}

export function createTcpWriter(opts: {
  destination: DestinationAddress;
  queue: BatchQueue;
  events: WriterEvents;
  connectTimeoutMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** No byte accepted for this long while data waits: the destination is stuck. 0: never. */
  writeTimeoutMs?: number;
  /** Written batches kept to write again after the connection dies; 0 turns it off. */
  resendWindowMs?: number;
  /** The window's memory bound. */
  resendWindowBytes?: number;
  /** The most a connection to a peer of this host holds unread before the writer waits (unread-cap.ts); 0: no bound. */
  maxUnreadBytes?: number;
  /** The most one connection holds unread (socket-buffers.ts); Infinity, the default: unknown, the window keeps up to its bound. */
  unreadBytesPerConnection?: number;
  /** Errors on the connection (it is closed and reconnected; onDown says why): counted here. */
  onSocketError: (err: Error) => void;
}): TcpWriter {
  const { destination, queue, events } = opts;
  const minBackoff = opts.minBackoffMs ?? 100;
  const maxBackoff = opts.maxBackoffMs ?? 5000;
  const writeTimeout = opts.writeTimeoutMs ?? 10_000;
  const maxUnread = opts.maxUnreadBytes ?? DEFAULT_MAX_UNREAD_BYTES;
  const windowBytes = opts.resendWindowBytes ?? 64 * 1024 * 1024;
  const window = createResendWindow({
    enabled: (opts.resendWindowMs ?? 1000) > 0,
    maxBytes: windowBytes,
    coverBytes: opts.unreadBytesPerConnection ?? Infinity,
    onUncovered: (batch) => events.onUncovered(batch),
  });
  const trim = createWindowTrim({
    window,
    unread: () => (connected && socket ? unreadOf(socket) : undefined),
    onFailure: (err) => events.onFailure(err),
  });
  let socket: Socket | undefined;
  let connected = false;
  let stopped = false;
  /** close() was called: a writer that is down stops once nothing is left for it to write. */
  let closeAsked = false;
  let failures = 0;
  /** Write timeouts with no completed write between them. */
  let stuckStreak = 0;
  let stuck: WriteTimeoutError | undefined;
  let held: Lease | undefined;
  /** The wait for the queue's next batch, which lands in `held` (a broken connection does not cancel it); true once the queue is closed and empty. */
  let taking: Promise<boolean> | undefined;
  /** Batches already written once, to write again before anything new. */
  let resend: Batch[] = [];
  let wake: (() => void) | undefined;
  /** Ends the wait of the connection's pump (a write or a take) when the connection breaks or is found stuck. */
  let interrupt: ((err: Error) => void) | undefined;
  let onDestroyed: (() => void) | undefined;
  const destroyed = new Promise<void>((resolve) => (onDestroyed = resolve));

  const watchdog = createWriteWatchdog({
    timeoutMs: writeTimeout > 0 ? writeTimeout : Infinity,
    ...(writeTimeout > 0 ? {} : { checkEveryMs: 0 }),
    // Idle, with bytes in our send queue the peer does not acknowledge: it stopped reading too.
    unacked: () => (connected && socket ? sendQueue(socket) : undefined),
    onStuck(stalledMs) {
      stuck = new WriteTimeoutError(destination.id, stalledMs);
      interrupt?.(stuck);
    },
  });

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        wake = undefined;
        resolve();
      }
      wake = done;
    });

  const open = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const s = connect({ host: destination.host, port: destination.port });
      s.setNoDelay(true);
      const timer = setTimeout(() => s.destroy(new Error('connect timeout')), opts.connectTimeoutMs ?? 5000);
      s.once('connect', () => {
        clearTimeout(timer);
        s.removeAllListeners('error');
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });

  /** Writes one batch in pieces; resolves once all are flushed to the kernel, rejects if the connection breaks or is stuck. */
  const write = (s: Socket, data: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      let failed = false;
      const fail = (err: Error): void => {
        if (failed) return;
        failed = true;
        interrupt = undefined;
        watchdog.idle();
        reject(err);
      };
      interrupt = fail;
      watchdog.busy();
      for (let at = 0; at < data.length; at += WRITE_PIECE_BYTES) {
        const last = at + WRITE_PIECE_BYTES >= data.length;
        s.write(data.subarray(at, at + WRITE_PIECE_BYTES), (err) => {
          if (failed) return;
          if (err) return fail(err);
          watchdog.progress();
          if (!last) return;
          interrupt = undefined;
          watchdog.idle();
          resolve();
        });
      }
    });

  /** The wait for the queue's next batch (one at a time), which lands in `held`; true once the queue is closed and empty. */
  const takeNext = (): Promise<boolean> =>
    (taking ??= queue.take().then((lease) => {
      taking = undefined;
      held = lease;
      return lease === undefined;
    }));

  /** Waits `ms`, or less when the connection breaks or is found stuck (the reason then). */
  const pause = (ms: number): Promise<Error | undefined> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        interrupt = undefined;
        resolve(undefined);
      }, ms);
      timer.unref();
      interrupt = (err) => {
        clearTimeout(timer);
        interrupt = undefined;
        resolve(err);
      };
    });

  /**
   * Before a write: while the connection holds -max-unread-bytes the peer's process has not read
   * (where that can be seen), waits until it reads (unread-cap.ts); a peer that reads nothing for the
   * write timeout meanwhile is stuck. The window holds at least what is unread: below the cap, no look is needed.
   * The cap is lowered to what keeps the window under its bound with the margin it keeps of what
   * was read, `bytes` more and a batch the size of it that straddles the offset read (the window
   * lets go of whole batches): at the bound it would let go of batches that may be unread.
   * A bound too small for even that is the operator's choice: written to as before.
   */
  const roomToWrite = async (s: Socket, bytes: number): Promise<void> => {
    const cap = Math.min(maxUnread, windowBytes - HANDLED_MARGIN_BYTES - 2 * bytes);
    if (maxUnread === 0 || cap <= 0 || window.bytes < cap) return;
    // The window lets go of what was read by the same counts as the wait looks at.
    const look = (): UnreadBytes | undefined => {
      const counts = unreadOf(s);
      trim.by(counts);
      return counts;
    };
    const wait = await untilUnreadBelowCap({ unread: look, pause, capBytes: cap, stallMs: writeTimeout > 0 ? writeTimeout : Infinity });
    if (wait.kind === 'broken') throw wait.err;
    if (wait.kind === 'stalled') {
      stuck = new WriteTimeoutError(destination.id, wait.stalledMs);
      throw stuck;
    }
  };

  /** Writes until the queue is closed and empty; throws when the connection breaks, also while it waits for a batch. */
  const pump = async (s: Socket): Promise<void> => {
    while (!stopped) {
      const again = resend[0];
      if (again) {
        await roomToWrite(s, again.data.length);
        await write(s, again.data);
        resend.shift();
        window.add(again);
        trim.added();
        stuckStreak = 0;
        events.onResent(again);
        continue;
      }
      if (!held) {
        const wait = takeNext();
        const next = await new Promise<boolean | Error>((resolve) => {
          interrupt = resolve;
          void wait.then(resolve);
        });
        interrupt = undefined;
        if (next instanceof Error) throw next;
        if (next) {
          // Queue closed and empty.
          stopped = true;
          return;
        }
      }
      if (held === undefined) continue;
      if (s.destroyed) throw new Error('connection closed');
      const lease = held;
      await roomToWrite(s, lease.batch.data.length);
      await write(s, lease.batch.data);
      // Free the queue space before reporting: a sender woken by onWritten must find the room.
      lease.ack();
      held = undefined;
      window.add(lease.batch);
      trim.added();
      stuckStreak = 0;
      events.onWritten(lease.batch);
    }
  };

  /** One connection: connect, write until it breaks or the queue is drained, pause as needed. */
  const session = async (): Promise<void> => {
    let s: Socket;
    try {
      s = await open();
    } catch (err) {
      failures++;
      events.onDown((err as Error).message, failures);
      if (!stopped) await sleep(Math.min(maxBackoff, minBackoff * 2 ** Math.min(failures - 1, 16)));
      return;
    }
    failures = 0;
    socket = s;
    connected = true;
    trim.reset();
    s.on('error', opts.onSocketError);
    // An idle connection the peer closed is down now (for status), not at the next write.
    s.once('close', () => {
      // A connection closed after the next one opened (the stuck one, kept until it read again) is no news.
      if (socket !== s) return;
      connected = false;
      interrupt?.(stuck ?? new Error('connection closed'));
    });
    // carbon never writes back; reading keeps a half-closed peer from going unnoticed.
    s.resume();
    events.onUp();
    try {
      await pump(s);
      s.end();
    } catch (err) {
      connected = false;
      const timedOut = stuck;
      stuck = undefined;
      // What the dead connection may not have delivered goes first on the next one.
      const unread = window.drain();
      resend = [...unread, ...resend];
      if (stopped) {
        s.destroy();
        return;
      }
      if (timedOut) {
        stuckStreak++;
        events.onStuck(timedOut, { points: sum(unread, (b) => b.points), bytes: sum(unread, (b) => b.data.length) });
        events.onDown(timedOut.message, 0);
        // Reconnecting (and rejoining the ring) while it still does not read would hand it its
        // socket buffers' worth again, and the last of a stream might fit there unnoticed.
        await untilReadingAgain(s);
      } else {
        events.onDown((err as Error).message, 0);
      }
      s.destroy();
    }
    connected = false;
  };

  /**
   * After a write timeout: keeps the stuck connection open and watches what it holds unread (our
   * send queue, and the peer's receive queue where it can be seen) until the peer reads from it
   * again (the count moves) or it breaks; where the send queue cannot be read, waits -write-timeout
   * instead, doubling with each timeout in a row (up to a minute).
   */
  const untilReadingAgain = async (s: Socket): Promise<void> => {
    const backoff = Math.min(MAX_STUCK_PAUSE_MS, writeTimeout * 2 ** Math.min(stuckStreak - 1, 16));
    const was = { queued: heldUnread(s), buffered: s.writableLength };
    if (was.queued === undefined) return sleep(backoff);
    const look = Math.max(10, Math.min(1000, writeTimeout / 10));
    while (!stopped && !s.destroyed) {
      await sleep(look);
      const queued = heldUnread(s);
      if (queued === undefined || queued !== was.queued || s.writableLength !== was.buffered) return;
    }
  };

  /**
   * Closing while down: with nothing of its own to write again, the queue's take() says whether
   * anything is left (undefined: closed and empty). Then no connection is needed to finish, and
   * the writer stops instead of reconnecting until the caller's deadline; a batch taken instead
   * lands in `held` and waits for the next connection as usual.
   */
  const finishIfNothingLeft = (): void => {
    if (connected || held !== undefined || resend.length > 0) return;
    void takeNext().then((closedAndEmpty) => {
      if (!closedAndEmpty || connected || resend.length > 0) return;
      stopped = true;
      wake?.();
    });
  };

  const run = async (): Promise<void> => {
    while (!stopped) {
      if (closeAsked) finishIfNothingLeft();
      try {
        await session();
      } catch (err) {
        // Only a fault of ours (an event handler) lands here: report it and keep the writer alive.
        connected = false;
        socket?.destroy();
        events.onFailure(err as Error);
        await sleep(maxBackoff);
      }
    }
  };

  const finished = run().finally(() => {
    watchdog.stop();
    trim.stop();
  });
  const closing = Promise.race([finished, destroyed]);
  return {
    get connected() {
      return connected;
    },
    // Only from a writer that is not writing: down, or destroyed (a deleted destination).
    takeHeld() {
      if (connected && !stopped) return undefined;
      const lease = held;
      held = undefined;
      return lease;
    },
    resendWindow: window,
    takeUnconfirmed() {
      if (connected && !stopped) return [];
      const batches = resend;
      resend = [];
      return batches;
    },
    close() {
      closeAsked = true;
      finishIfNothingLeft();
      return closing;
    },
    destroy() {
      // What the peer may not have read yet stays at hand for takeUnconfirmed (a deleted destination's failover).
      if (!stopped) resend = [...window.drain(), ...resend];
      stopped = true;
      wake?.();
      socket?.destroy();
      watchdog.stop();
      trim.stop();
      onDestroyed?.();
    },
  };
}
