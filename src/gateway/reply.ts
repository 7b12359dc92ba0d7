// Answers to a request: counted by path and status, `Connection: close` while the gateway closes,
// and the socket remembered as answering (a timeout there can no longer get a 408).
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { GatewayMetrics } from './gateway-metrics.js';

export const RETRY_AFTER_SECONDS = '1';

export type Reply = (res: ServerResponse, path: string, status: number, body: string, headers?: Record<string, string>) => void;

export interface Replier {
  readonly reply: Reply;
  /** Whether the socket's current response has begun. */
  answering(socket: Socket): boolean;
}

export function createReplier(opts: { readonly metrics: GatewayMetrics; readonly closing: () => boolean }): Replier {
  // Sockets whose current response has begun: a timeout there cannot be answered with a 408.
  const answering = new WeakSet<Socket>();
  return {
    reply(res, path, status, body, headers = {}) {
      opts.metrics.requests.inc(1, { path, code: String(status) });
      const socket = res.req.socket;
      answering.add(socket);
      res.once('finish', () => answering.delete(socket));
      if (opts.closing()) headers = { ...headers, connection: 'close' };
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), ...headers });
      res.end(body);
    },
    answering: (socket) => answering.has(socket),
  };
}
