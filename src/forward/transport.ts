// One gateway: keep-alive connections (an undici Pool), /ping and /ingest as the wire protocol
// says, every request bounded by the timeout, answers turned into SendOutcome values.
import type { Socket } from 'node:net';
import { buildConnector, Pool } from 'undici';
import { classifyError, classifyResponse, describeError, isCertificateError, type SendOutcome } from './outcome.js';

export type PingResult =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly status?: number;
      readonly message: string;
      /** The gateway refused the key: a configuration error. */
      readonly fatal: boolean;
      /** The gateway's certificate did not verify: reachable, but not trusted. */
      readonly untrusted: boolean;
    };

export interface GatewayTransport {
  readonly url: string;
  /** POSTs to /ping; the signal ends a ping that hangs (a gateway that accepts and never answers). */
  ping(signal?: AbortSignal): Promise<PingResult>;
  /** POSTs one gzip body of `points` lines to /ingest. */
  post(body: Buffer, signal?: AbortSignal): Promise<SendOutcome>;
  /**
   * Requests from now on carry this key and verify the gateway with this CA (none: the system's).
   * Requests in flight finish with what they started with; a new CA gets a new connection pool,
   * the old one closing once its requests are answered.
   */
  setCredentials(credentials: { apiKey: string; ca?: Buffer }): void;
  /** Closes the connections once the requests in flight are answered. */
  close(): Promise<void>;
  /** Closes the connections now, failing the requests in flight. */
  destroy(): void;
}

export function createGatewayTransport(opts: {
  url: string;
  apiKey: string;
  ca?: Buffer;
  timeoutMs: number;
  connections?: number;
}): GatewayTransport {
  const url = new URL(opts.url);
  const basePath = url.pathname.replace(/\/+$/, '');
  // A socket still connecting (a peer that accepts and never completes the TLS handshake) is not
  // the pool's yet: pool.destroy() leaves it to its connect timeout. destroy() reaches it here.
  const sockets = new Set<Socket>();
  const makePool = (ca: Buffer | undefined): Pool => {
    // undici's connector returns the socket it opens (its type says void).
    const connector = buildConnector({ timeout: opts.timeoutMs, ...(ca ? { ca } : {}) }) as unknown as (
      ...args: Parameters<buildConnector.connector>
    ) => Socket | undefined;
    const connect: buildConnector.connector = (options, callback) => {
      const socket = connector(options, callback);
      if (!socket) return;
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    };
    return new Pool(url.origin, {
      connections: opts.connections ?? 8,
      headersTimeout: opts.timeoutMs,
      bodyTimeout: opts.timeoutMs,
      keepAliveTimeout: 30_000,
      connect,
    });
  };
  let apiKey = opts.apiKey;
  let ca = opts.ca;
  let pool = makePool(ca);
  /** Pools replaced by a new CA, closing once their requests are answered. */
  const retiring = new Map<Pool, Promise<void>>();

  const call = async (path: string, body: Buffer, signal?: AbortSignal): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> => {
    const res = await pool.request({
      path: basePath + path,
      method: 'POST',
      headers: body.length > 0 ? { 'x-polymur-key': apiKey, 'content-encoding': 'gzip' } : { 'x-polymur-key': apiKey },
      body,
      ...(signal ? { signal } : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  };

  return {
    url: opts.url,
    async ping(signal) {
      try {
        const r = await call('/ping', Buffer.alloc(0), signal);
        if (r.status === 200) return { ok: true };
        return { ok: false, status: r.status, message: r.text.trim() || `HTTP ${r.status}`, fatal: r.status === 401, untrusted: false };
      } catch (err) {
        return { ok: false, message: describeError(err), fatal: false, untrusted: isCertificateError(err) };
      }
    },
    async post(body, signal) {
      try {
        const r = await call('/ingest', body, signal);
        return classifyResponse(r.status, r.headers, r.text);
      } catch (err) {
        return classifyError(err);
      }
    },
    setCredentials(credentials) {
      apiKey = credentials.apiKey;
      const same = credentials.ca === undefined ? ca === undefined : ca !== undefined && credentials.ca.equals(ca);
      if (same) return;
      ca = credentials.ca;
      const old = pool;
      pool = makePool(ca);
      retiring.set(old, old.close().catch(() => undefined).finally(() => retiring.delete(old)));
    },
    async close() {
      await Promise.all([pool.close(), ...retiring.values()]);
    },
    destroy() {
      // Requests it fails are answered by post() and ping() as errors; nothing else waits on it.
      for (const p of [pool, ...retiring.keys()]) p.destroy().catch(() => {});
      for (const socket of sockets) socket.destroy();
    },
  };
}
