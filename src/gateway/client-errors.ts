// Clients too slow or broken to get a normal answer: Node's header and request timeouts, checked
// often enough to hold, and what a timed-out or unparsable request is answered on its socket.
import type { Socket } from 'node:net';
import type { GatewayMetrics } from './gateway-metrics.js';

/** How often Node checks the header and request timeouts (its default, 30 s, would let them overrun). */
const TIMEOUT_CHECK_MS = 500;

export interface ServerTimeouts {
  readonly headersTimeout: number;
  readonly requestTimeout: number;
  readonly connectionsCheckingInterval: number;
}

export function serverTimeouts(headersTimeoutMs: number | undefined, requestTimeoutMs: number | undefined): ServerTimeouts {
  const requestTimeout = requestTimeoutMs ?? 60_000;
  return {
    // Node requires headersTimeout <= requestTimeout; the headers are part of the request anyway.
    headersTimeout: Math.min(headersTimeoutMs ?? 10_000, requestTimeout),
    requestTimeout,
    connectionsCheckingInterval: TIMEOUT_CHECK_MS,
  };
}

/**
 * A client too slow with its headers or body gets 408 when nothing was answered yet; a request
 * that does not parse, 400. Anything else (a TLS handshake that failed or timed out: there is no
 * channel to answer on) is cut off at once.
 */
export function createClientErrorHandler(opts: {
  readonly metrics: GatewayMetrics;
  /** Whether the socket's current response has begun. */
  readonly answering: (socket: Socket) => boolean;
  /** Counts the errors that get no HTTP answer (a reset, a failed handshake). */
  readonly onSocketError: (err: NodeJS.ErrnoException) => void;
}): (err: NodeJS.ErrnoException, socket: Socket) => void {
  return (err, socket) => {
    const answer =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? ['408 Request Timeout', 'Request Timeout\n'] : err.code?.startsWith('HPE_') ? ['400 Bad Request', 'Bad Request\n'] : undefined;
    if (!answer) opts.onSocketError(err);
    if (!answer || !socket.writable || opts.answering(socket)) return void socket.destroy();
    const [status, text] = answer as [string, string];
    opts.metrics.requests.inc(1, { path: 'other', code: status.slice(0, 3) });
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`);
    socket.destroySoon();
  };
}
