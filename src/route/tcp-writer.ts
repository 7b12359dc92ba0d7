// One destination's writer: takes batches from its queue and writes each whole buffer to a TCP
// connection, honouring write()/'drain'. A batch is acknowledged once the socket has flushed it
// to the kernel; one in hand when the connection dies is written again after the reconnect
// (a duplicate is possible, a loss is not). Reconnects back off exponentially.
//
// Plain carbon never acknowledges: what the kernel accepted may still die in the socket buffers
// with the peer. The resend window (resend-window.ts) writes the batches of the last moments
// before a connection died again after the reconnect. A peer that accepts the connection but
// stops reading is caught by the write watchdog (write-watchdog.ts): no byte accepted for the
// write timeout while data waits drops the connection and reports the destination stuck.
import { connect, type Socket } from 'node:net';
import type { Batch, BatchQueue, Lease } from '../batch/batch.js';
import type { Stage } from '../lifecycle/stage.js';
import type { DestinationAddress } from './destination.js';
import { createResendWindow } from './resend-window.js';
import { createWriteWatchdog } from './write-watchdog.js';
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

export interface WriterEvents {
  /** A connection was established. */
  onUp(): void;
  /** A connect attempt failed or the connection broke; `consecutive` counts failed connects in a row. */
  onDown(reason: string, consecutive: number): void;
  /** The connection was dropped because the destination stopped reading (before onDown). */
  onStuck(err: WriteTimeoutError): void;
  onWritten(batch: Batch): void;
  /** A batch of the resend window was written again after a reconnect. */
  onResent(batch: Batch): void;
  /** The writer's loop failed for a reason other than the connection; it carries on after a pause. */
  onFailure(err: Error): void;
}

export interface TcpWriter extends Stage {
  readonly connected: boolean;
  /** Hands over the batch kept for a retry (for failover to other destinations). */
  takeHeld(): Lease | undefined;
  /** Hands over the written batches waiting to be written again (for failover). */
  takeUnconfirmed(): Batch[];
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
  resendWindowBytes?: number;
  /** Errors on the connection (it is closed and reconnected; onDown says why): counted here. */
  onSocketError: (err: Error) => void;
}): TcpWriter {
  const { destination, queue, events } = opts;
  const minBackoff = opts.minBackoffMs ?? 100;
  const maxBackoff = opts.maxBackoffMs ?? 5000;
  const writeTimeout = opts.writeTimeoutMs ?? 10_000;
  const window = createResendWindow({ maxAgeMs: opts.resendWindowMs ?? 1000, maxBytes: opts.resendWindowBytes ?? 4 * 1024 * 1024 });
  let socket: Socket | undefined;
  let connected = false;
  let stopped = false;
  let failures = 0;
  /** Write timeouts with no completed write between them. */
  let stuckStreak = 0;
  let stuck: WriteTimeoutError | undefined;
  let held: Lease | undefined;
  /** Batches already written once, to write again before anything new. */
  let resend: Batch[] = [];
  let wake: (() => void) | undefined;
  let onDestroyed: (() => void) | undefined;
  const destroyed = new Promise<void>((resolve) => (onDestroyed = resolve));

  const watchdog = createWriteWatchdog({
    timeoutMs: writeTimeout > 0 ? writeTimeout : Infinity,
    ...(writeTimeout > 0 ? {} : { checkEveryMs: 0 }),
    onStuck(stalledMs) {
      stuck = new WriteTimeoutError(destination.id, stalledMs);
      socket?.destroy(stuck);
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

  /** Writes one batch in pieces; resolves once all are flushed to the kernel, rejects if the connection breaks. */
  const write = (s: Socket, data: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      let failed = false;
      const fail = (err: Error): void => {
        if (failed) return;
        failed = true;
        s.off('close', onClose);
        watchdog.idle();
        reject(stuck ?? err);
      };
      const onClose = (): void => fail(new Error('connection closed'));
      s.once('close', onClose);
      watchdog.busy();
      for (let at = 0; at < data.length; at += WRITE_PIECE_BYTES) {
        const last = at + WRITE_PIECE_BYTES >= data.length;
        s.write(data.subarray(at, at + WRITE_PIECE_BYTES), (err) => {
          if (failed) return;
          if (err) return fail(err);
          watchdog.progress();
          if (!last) return;
          s.off('close', onClose);
          watchdog.idle();
          resolve();
        });
      }
    });

  /** Writes until the queue is closed and empty; throws when the connection breaks. */
  const pump = async (s: Socket): Promise<void> => {
    while (!stopped) {
      const again = resend[0];
      if (again) {
        await write(s, again.data);
        resend.shift();
        window.add(again);
        stuckStreak = 0;
        events.onResent(again);
        continue;
      }
      held ??= await queue.take();
      if (held === undefined) {
        // Queue closed and empty.
        stopped = true;
        return;
      }
      if (s.destroyed) throw new Error('connection closed');
      const lease = held;
      await write(s, lease.batch.data);
      // Free the queue space before reporting: a sender woken by onWritten must find the room.
      lease.ack();
      held = undefined;
      window.add(lease.batch);
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
      await sleep(Math.min(maxBackoff, minBackoff * 2 ** Math.min(failures - 1, 16)));
      return;
    }
    failures = 0;
    socket = s;
    connected = true;
    s.on('error', opts.onSocketError);
    // An idle connection the peer closed is down now (for status), not at the next write.
    s.once('close', () => (connected = false));
    // carbon never writes back; reading keeps a half-closed peer from going unnoticed.
    s.resume();
    events.onUp();
    try {
      await pump(s);
      s.end();
    } catch (err) {
      connected = false;
      s.destroy();
      const timedOut = stuck;
      stuck = undefined;
      // What the dead connection may not have delivered goes first on the next one.
      resend = [...window.drain(timedOut !== undefined), ...resend];
      if (stopped) return;
      if (timedOut) {
        stuckStreak++;
        events.onStuck(timedOut);
        events.onDown(timedOut.message, 0);
        // Reconnecting at once would hand the stuck peer its socket buffers' worth again.
        await sleep(Math.min(MAX_STUCK_PAUSE_MS, writeTimeout * 2 ** Math.min(stuckStreak - 1, 16)));
      } else {
        events.onDown((err as Error).message, 0);
      }
    }
    connected = false;
  };

  const run = async (): Promise<void> => {
    while (!stopped) {
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

  const finished = run().finally(() => watchdog.stop());
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
    takeUnconfirmed() {
      if (connected && !stopped) return [];
      const batches = resend;
      resend = [];
      return batches;
    },
    close: () => closing,
    destroy() {
      // What the peer may not have read yet stays at hand for takeUnconfirmed (a deleted destination's failover).
      if (!stopped) resend = [...window.drain(true), ...resend];
      stopped = true;
      wake?.();
      socket?.destroy();
      watchdog.stop();
      onDestroyed?.();
    },
  };
}
