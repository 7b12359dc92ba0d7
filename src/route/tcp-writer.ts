// One destination's writer: takes batches from its queue and writes each whole buffer to a TCP
// connection, honouring write()/'drain'. A batch is acknowledged once the socket has flushed it
// to the kernel; one in hand when the connection dies is written again after the reconnect
// (a duplicate is possible, a loss is not). Reconnects back off exponentially.
import { connect, type Socket } from 'node:net';
import type { Batch, BatchQueue, Lease } from '../batch/batch.js';
import type { DestinationAddress } from './destination.js';

export interface WriterEvents {
  /** A connection was established. */
  onUp(): void;
  /** A connect attempt failed or the connection broke; `consecutive` counts failed connects in a row. */
  onDown(reason: string, consecutive: number): void;
  onWritten(batch: Batch): void;
}

export interface TcpWriter {
  readonly connected: boolean;
  /** Hands over the batch kept for a retry (for failover to other destinations). */
  takeHeld(): Lease | undefined;
  /** Stops after the queue is drained (bounded by the caller), or at once with `now`. */
  close(now?: boolean): Promise<void>;
}

export function createTcpWriter(opts: {
  destination: DestinationAddress;
  queue: BatchQueue;
  events: WriterEvents;
  connectTimeoutMs?: number;
  minBackoffMs?: number;
  maxBackoffMs?: number;
}): TcpWriter {
  const { destination, queue, events } = opts;
  const minBackoff = opts.minBackoffMs ?? 100;
  const maxBackoff = opts.maxBackoffMs ?? 5000;
  let socket: Socket | undefined;
  let connected = false;
  let stopped = false;
  let failures = 0;
  let held: Lease | undefined;
  let wake: (() => void) | undefined;

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

  /** Writes one batch; resolves once flushed to the kernel, rejects if the connection breaks. */
  const write = (s: Socket, data: Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      const onClose = (): void => reject(new Error('connection closed'));
      s.once('close', onClose);
      s.write(data, (err) => {
        s.off('close', onClose);
        if (err) reject(err);
        else resolve();
      });
    });

  const run = async (): Promise<void> => {
    while (!stopped) {
      try {
        socket = await open();
      } catch (err) {
        failures++;
        events.onDown((err as Error).message, failures);
        await sleep(Math.min(maxBackoff, minBackoff * 2 ** Math.min(failures - 1, 16)));
        continue;
      }
      failures = 0;
      connected = true;
      const s = socket;
      s.on('error', () => undefined);
      // An idle connection the peer closed is down now (for status), not at the next write.
      s.once('close', () => (connected = false));
      // carbon never writes back; reading keeps a half-closed peer from going unnoticed.
      s.resume();
      events.onUp();
      try {
        while (!stopped) {
          held ??= await queue.take();
          if (held === undefined) {
            // Queue closed and empty.
            stopped = true;
            break;
          }
          if (s.destroyed) throw new Error('connection closed');
          const lease = held;
          await write(s, lease.batch.data);
          // Free the queue space before reporting: a sender woken by onWritten must find the room.
          lease.ack();
          held = undefined;
          events.onWritten(lease.batch);
        }
        s.end();
      } catch (err) {
        connected = false;
        s.destroy();
        if (!stopped) events.onDown((err as Error).message, 0);
      }
      connected = false;
    }
  };

  const running = run();
  return {
    get connected() {
      return connected;
    },
    takeHeld() {
      if (connected) return undefined;
      const lease = held;
      held = undefined;
      return lease;
    },
    async close(now = false) {
      if (now) {
        stopped = true;
        wake?.();
        socket?.destroy();
      }
      await running;
    },
  };
}
