// One gateway: keep-alive connections (an undici Pool), /ping and /ingest as the wire protocol
// says, every request bounded by the timeout, answers turned into SendOutcome values. Through an
// egress proxy, each connection is a CONNECT tunnel (undici's ProxyAgent) with TLS to the gateway
// inside it: the proxy sees only the gateway's host and port.
import type { Socket } from 'node:net';
import { buildConnector, Pool, ProxyAgent, type Dispatcher } from 'undici';
import { describeProxy } from './egress-proxy.js';
import { classifyError, classifyResponse, describeError, isCertificateError, type SendOutcome } from './outcome.js';
import { PolymurError } from '../errors.js';

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

/** A forward proxy that answered CONNECT with another status than 200 (policy, overload, no route). */
export class TunnelRefusedError extends PolymurError {
  readonly code = 'POLYMUR_ERR_PROXY_TUNNEL_REFUSED';
}

/**
 * undici reports a refused tunnel as an abort (UND_ERR_ABORTED, its status only in the message):
 * named here as what it is, with the forward proxy and the status, for the log line and the metric.
 */
function tunnelFailure(err: unknown, proxy: URL, target: string): unknown {
  const status = /^Proxy response \((\d+)\) !== 200 when HTTP Tunneling$/.exec((err as Error | undefined)?.message ?? '')?.[1];
  return status === undefined ? err : new TunnelRefusedError(`forward proxy ${describeProxy(proxy)} refused the tunnel to ${target}: HTTP ${status}`);
}

export function createGatewayTransport(opts: {
  url: string;
  apiKey: string;
  ca?: Buffer;
  timeoutMs: number;
  connections?: number;
  /** The forward proxy to tunnel through (http://[user:password@]host:port); none: direct. */
  proxy?: URL;
}): GatewayTransport {
  const url = new URL(opts.url);
  const basePath = url.pathname.replace(/\/+$/, '');
  // A socket still connecting (a peer that accepts and never completes the TLS handshake) is not
  // the pool's yet: pool.destroy() leaves it to its connect timeout. destroy() reaches it here.
  // Through a proxy these are the sockets to the proxy, each carrying one tunnel once connected.
  const sockets = new Set<Socket>();
  const tracked = (options: buildConnector.BuildOptions): buildConnector.connector => {
    // undici's connector returns the socket it opens (its type says void).
    const connector = buildConnector(options) as unknown as (...args: Parameters<buildConnector.connector>) => Socket | undefined;
    return (connectOptions, callback) => {
      const socket = connector(connectOptions, callback);
      if (!socket) return;
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    };
  };
  const pooling = {
    connections: opts.connections ?? 8,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    keepAliveTimeout: 30_000,
  };
  /** The connections to the gateway verified with `ca`: a pool, or tunnels through the forward proxy. */
  const makeDispatcher = (ca: Buffer | undefined): Dispatcher => {
    const tls = { timeout: opts.timeoutMs, ...(ca ? { ca } : {}) };
    return opts.proxy
      ? new ProxyAgent({
          uri: opts.proxy.href,
          ...pooling,
          // The gateway's TLS, inside the tunnel: -cert's CA, the handshake bounded by the timeout.
          requestTls: tls,
          // The connections to the proxy itself: connecting and the CONNECT answer bounded too (a
          // proxy that accepts and never answers), and reached by destroy().
          clientFactory: (origin) => new Pool(origin, { connect: tracked({ timeout: opts.timeoutMs }), headersTimeout: opts.timeoutMs }),
        })
      : new Pool(url.origin, { ...pooling, connect: tracked(tls) });
  };
  const named = (err: unknown): unknown => (opts.proxy ? tunnelFailure(err, opts.proxy, url.host) : err);
  let apiKey = opts.apiKey;
  let ca = opts.ca;
  let dispatcher = makeDispatcher(ca);
  /** Connections replaced by a new CA, closing once their requests are answered. */
  const retiring = new Map<Dispatcher, Promise<void>>();

  const call = async (path: string, body: Buffer, signal?: AbortSignal): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> => {
    const res = await dispatcher.request({
      origin: url.origin,
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
        return { ok: false, message: describeError(named(err)), fatal: false, untrusted: isCertificateError(err) };
      }
    },
    async post(body, signal) {
      try {
        const r = await call('/ingest', body, signal);
        return classifyResponse(r.status, r.headers, r.text);
      } catch (err) {
        return classifyError(named(err));
      }
    },
    setCredentials(credentials) {
      apiKey = credentials.apiKey;
      const same = credentials.ca === undefined ? ca === undefined : ca !== undefined && credentials.ca.equals(ca);
      if (same) return;
      ca = credentials.ca;
      const old = dispatcher;
      dispatcher = makeDispatcher(ca);
      retiring.set(
        old,
        old
          .close()
          .catch(() => undefined)
          .finally(() => retiring.delete(old)),
      );
    },
    async close() {
      await Promise.all([dispatcher.close(), ...retiring.values()]);
    },
    destroy() {
      // Requests it fails are answered by post() and ping() as errors; nothing else waits on it.
      for (const d of [dispatcher, ...retiring.keys()]) d.destroy().catch(() => {});
      for (const socket of sockets) socket.destroy();
    },
  };
}
