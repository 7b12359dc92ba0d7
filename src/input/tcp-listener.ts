// The Graphite plaintext TCP listener: many concurrent connections, lines framed per connection,
// validated, handed to the shared batcher. When the batcher says "full", the connections that read
// pause until it has room again (backpressure reaches the senders through TCP; backpressure.ts
// says which pause and in what order they resume); nothing is dropped.
// Every connection reads into the listener's one shared buffer (shared-read.ts): a connection
// costs its socket and its framer's partial line, nothing per read.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import type { Batcher } from '../batch/batcher.js';
import type { Stage } from '../lifecycle/stage.js';
import { rateLimitedLog } from '../observe/log.js';
import type { Labels, Registry } from '../observe/metrics.js';
import { createConnectionLimit } from '../net/connection-limit.js';
import { createLineFramer, type LineFramer } from '../protocol/framer.js';
import { createSharedReader } from './shared-read.js';
import { createBackpressure } from './backpressure.js';
import { INVALID_REASON_LABELS, MAX_LINE_BYTES, type InvalidReason } from '../protocol/lines.js';
import { formatHostPort, listenOn, parseHostPort } from '../net/address.js';
import { socketErrorCounter } from '../observe/socket-errors.js';

/**
 * close(): stop accepting, read and deliver what clients already sent, then close each connection
 * (a client that does not finish within CLIENT_FINISH_MS is cut); destroy(): cut every connection now.
 */
export interface TcpListener extends Stage {
  readonly address: AddressInfo;
}

/**
 * How one connection's bytes become validated lines for `deliver`: Graphite plaintext unless the
 * listener is given another (carbon's pickle). `cut` closes the connection (a refused input).
 */
export type ConnectionFraming = (deliver: (data: Buffer, points: number) => void, onInvalid: (line: Buffer, reason: InvalidReason) => void, cut: () => void) => LineFramer;

/** After our FIN at close(), how long a client gets to send the rest of what it has and close. */
const CLIENT_FINISH_MS = 2000;

export interface TcpListenerOptions {
  readonly listenAddr: string;
  readonly batcher: Batcher;
  readonly maxLineBytes?: number;
  readonly maxConnections?: number;
  /** Connections one client address may hold at once; 0: no limit. */
  readonly maxConnectionsPerIp?: number;
  /** A connection silent for this long is closed (its last line delivered). 0: never. */
  readonly idleTimeoutMs?: number;
  readonly metrics: Registry;
  readonly log: (msg: string) => void;
  readonly onReceived?: (points: number) => void;
  /** Bytes read from a client (before framing). */
  readonly onBytesRead?: (bytes: number) => void;
  readonly framing?: ConnectionFraming;
  /** What the listener is called in its start line ("<what> listener started: …") and the labels of its open-connections gauge. */
  readonly what?: { readonly name: string; readonly labels: Labels };
}

export async function createTcpListener(opts: TcpListenerOptions): Promise<TcpListener> {
  const { host, port } = parseHostPort(opts.listenAddr);
  const maxLineBytes = opts.maxLineBytes ?? MAX_LINE_BYTES;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 5 * 60_000;
  const received = opts.metrics.counter('polymur_points_received_total', 'Valid data points read from clients');
  const invalid = opts.metrics.counter('polymur_points_invalid_total', 'Invalid data points dropped, by reason', INVALID_REASON_LABELS);
  const connectionsTotal = opts.metrics.counter('polymur_connections_total', 'Client connections accepted');
  const refused = opts.metrics.counter('polymur_connections_refused_total', 'Client connections refused over -max-connections');
  const refusedPerIp = opts.metrics.counter('polymur_connections_refused_per_ip_total', 'Client connections refused over -max-connections-per-ip');
  const perIp = createConnectionLimit(opts.maxConnectionsPerIp ?? 256);
  const refusedLog = rateLimitedLog(opts.log);
  const onSocketError = socketErrorCounter(opts.metrics, 'listener', opts.log);
  const sockets = new Set<Socket>();
  opts.metrics.gauge('polymur_connections_open', 'Client connections open', () => sockets.size, opts.what?.labels);
  const backpressure = createBackpressure({ whenReady: (listener) => opts.batcher.whenReady(listener) });
  opts.metrics.gauge('polymur_connections_paused', 'Client connections not read while the batcher is full (backpressure)', () => backpressure.paused(), opts.what?.labels);
  const invalidLog = rateLimitedLog(opts.log);
  const onInvalid = (line: Buffer, reason: InvalidReason): void => {
    invalid.inc(1, { reason });
    invalidLog(`Invalid data point dropped (${reason}): ${JSON.stringify(line.subarray(0, 200).toString('latin1'))}`);
  };

  const deliver = (data: Buffer, points: number): void => {
    received.inc(points);
    opts.onReceived?.(points);
    if (!opts.batcher.add(data, points)) backpressure.refused();
  };

  const maxConnections = opts.maxConnections ?? 4096;
  const reader = createSharedReader();
  /** Resolves once the server is closed and every connection is gone (set by close()). */
  let whenAllClosed: (() => void) | undefined;
  const server = createServer({ pauseOnConnect: true }, (accepted) => {
    if (sockets.size >= maxConnections) {
      refused.inc();
      return void accepted.destroy();
    }
    let framer: LineFramer | undefined;
    const socket = reader.adopt(accepted, (chunk) => {
      opts.onBytesRead?.(chunk.length);
      framer!.push(chunk);
      backpressure.afterRead(socket, chunk.length);
    });
    if (!perIp.admit(socket)) {
      refusedPerIp.inc();
      refusedLog(perIp.refusal(socket));
      return void socket.destroy();
    }
    sockets.add(socket);
    connectionsTotal.inc();
    framer = opts.framing ? opts.framing(deliver, onInvalid, () => socket.destroy()) : createLineFramer(deliver, { maxLineBytes, onInvalid });
    if (idleTimeoutMs > 0) {
      socket.setTimeout(idleTimeoutMs);
      socket.on('timeout', () => {
        // Silent because we stopped reading (backpressure): not the client's idleness.
        if (backpressure.isPaused(socket)) return void socket.setTimeout(idleTimeoutMs);
        // First our FIN (the client's last line is still read); a client that keeps the
        // connection half-open after that is cut off one more period later.
        socket.end();
        const cut = setTimeout(() => socket.destroy(), idleTimeoutMs);
        socket.once('close', () => clearTimeout(cut));
      });
    }
    socket.on('end', () => {
      framer.end();
      socket.end();
    });
    socket.on('error', onSocketError);
    socket.on('close', () => {
      framer.end();
      sockets.delete(socket);
      backpressure.forget(socket);
      if (sockets.size === 0) whenAllClosed?.();
    });
    backpressure.admit(socket);
  });
  const address = await listenOn(server, host, port);
  opts.log(`${opts.what?.name ?? 'Metrics'} listener started: ${formatHostPort(address.address, address.port)}`);

  let closing: Promise<void> | undefined;
  const serverClosed = new Promise<void>((resolve) => server.once('close', () => resolve()));
  const closed = serverClosed.then(() => (sockets.size === 0 ? undefined : new Promise<void>((resolve) => (whenAllClosed = resolve))));
  const destroy = (): void => {
    if (server.listening) server.close();
    for (const s of sockets) s.destroy();
  };
  return {
    address,
    close() {
      closing ??= (async () => {
        server.close();
        // Whatever a client already sent is read and delivered; then the connection is closed.
        backpressure.release();
        for (const s of sockets) s.end();
        const cut = setTimeout(destroy, CLIENT_FINISH_MS);
        cut.unref();
        await closed;
        clearTimeout(cut);
      })();
      return closing;
    },
    destroy,
  };
}
