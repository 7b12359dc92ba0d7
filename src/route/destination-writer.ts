// One destination's TCP writer, its events counted and logged in the original's words; what the
// router does about them (ring membership, waking senders) is left to the hooks it passes.
import type { BatchQueue } from '../batch/batch.js';
import { rateLimitedLog } from '../observe/log.js';
import type { DestinationAddress } from './destination.js';
import type { RouterMetrics } from './router-report.js';
import { createTcpWriter, type TcpWriter } from './tcp-writer.js';

/** What the writer counts for the destination's status. */
export interface WriterCounts {
  written: number;
  reconnects: number;
}

/** The router's part of each event, called after it was counted and logged. */
export interface WriterHooks {
  onUp(): void;
  onUnreachable(consecutive: number): void;
  onStuck(): void;
  onWritten(): void;
}

export interface DestinationWriterOptions {
  readonly address: DestinationAddress;
  readonly queue: BatchQueue;
  readonly writeTimeoutMs?: number | undefined;
  readonly resendWindowMs?: number | undefined;
  readonly resendWindowBytes?: number | undefined;
  readonly maxUnreadBytes?: number | undefined;
  readonly unreadBytesPerConnection?: number | undefined;
  readonly metrics: RouterMetrics;
  readonly log: (m: string) => void;
  /** Counts a socket error (a reset, a refused connect) that the writer survives. */
  readonly onSocketError: (err: Error) => void;
  /** Read when an event comes (the record is made with the writer). */
  readonly counts: () => WriterCounts;
  readonly hooks: WriterHooks;
}

export function createDestinationWriter(opts: DestinationWriterOptions): TcpWriter {
  const { address, metrics: m } = opts;
  const labels = { destination: address.id };
  const log = rateLimitedLog(opts.log, 3, 10_000);
  // The original's words: joining the pool on the first connection, reconnecting after.
  let pooled = false;
  return createTcpWriter({
    destination: address,
    queue: opts.queue,
    onSocketError: opts.onSocketError,
    ...(opts.writeTimeoutMs !== undefined ? { writeTimeoutMs: opts.writeTimeoutMs } : {}),
    ...(opts.resendWindowMs !== undefined ? { resendWindowMs: opts.resendWindowMs } : {}),
    ...(opts.resendWindowBytes !== undefined ? { resendWindowBytes: opts.resendWindowBytes } : {}),
    ...(opts.maxUnreadBytes !== undefined ? { maxUnreadBytes: opts.maxUnreadBytes } : {}),
    ...(opts.unreadBytesPerConnection !== undefined ? { unreadBytesPerConnection: opts.unreadBytesPerConnection } : {}),
    events: {
      onUp() {
        opts.log(pooled ? `Reconnected to destination: ${address.id}` : `Adding destination to connection pool: ${address.id}`);
        pooled = true;
        opts.hooks.onUp();
      },
      onDown(reason, consecutive) {
        opts.counts().reconnects++;
        m.reconnects.inc(1, labels);
        log(`Destination ${address.id} unreachable: ${reason}${consecutive > 0 ? ` (${consecutive} failed reconnects)` : ''}`);
        opts.hooks.onUnreachable(consecutive);
      },
      onStuck(err, unread) {
        m.writeTimeouts.inc(1, labels);
        m.unread.inc(unread.points, labels);
        opts.log(
          `Destination ${address.id} is down: ${err.message}; connection dropped; ${unread.points} data points (${unread.bytes} bytes) written to it lately, which it may not have read, are sent again`,
        );
        opts.hooks.onStuck();
      },
      onWritten(batch) {
        opts.counts().written += batch.points;
        m.written.inc(batch.points, labels);
        m.writtenBatches.inc(1, labels);
        m.writtenBytes.inc(batch.data.length, labels);
        opts.hooks.onWritten();
      },
      onResent(batch) {
        m.resent.inc(batch.points, labels);
      },
      onUncovered(batch) {
        m.uncovered.inc(batch.points, labels);
        log(
          `Destination ${address.id}: the resend window is at -resend-window-bytes, below what the connection may hold unread; ${batch.points} data points let go of would be lost if it stopped reading now`,
        );
      },
      onFailure(err) {
        m.writerFailures.inc(1, labels);
        log(`Destination ${address.id}: writer failed (${err.message}); it carries on`);
      },
    },
  });
}
