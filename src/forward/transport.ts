// One gateway: keep-alive connections (an undici Pool), /ping and /ingest as the wire protocol
// says, every request bounded by the timeout, answers turned into SendOutcome values.
import { Pool } from 'undici';
import { classifyError, classifyResponse, type SendOutcome } from './outcome.js';

export type PingResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly status?: number; readonly message: string; readonly fatal: boolean };

export interface GatewayTransport {
  readonly url: string;
  ping(): Promise<PingResult>;
  /** POSTs one gzip body of `points` lines to /ingest. */
  post(body: Buffer, signal?: AbortSignal): Promise<SendOutcome>;
  close(): Promise<void>;
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
  const pool = new Pool(url.origin, {
    connections: opts.connections ?? 8,
    connectTimeout: opts.timeoutMs,
    headersTimeout: opts.timeoutMs,
    bodyTimeout: opts.timeoutMs,
    keepAliveTimeout: 30_000,
    ...(opts.ca ? { connect: { ca: opts.ca } } : {}),
  });

  const call = async (path: string, body: Buffer, signal?: AbortSignal): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> => {
    const res = await pool.request({
      path: basePath + path,
      method: 'POST',
      headers: body.length > 0 ? { 'x-polymur-key': opts.apiKey, 'content-encoding': 'gzip' } : { 'x-polymur-key': opts.apiKey },
      body,
      ...(signal ? { signal } : {}),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text };
  };

  return {
    url: opts.url,
    async ping() {
      try {
        const r = await call('/ping', Buffer.alloc(0));
        if (r.status === 200) return { ok: true };
        return { ok: false, status: r.status, message: r.text.trim() || `HTTP ${r.status}`, fatal: r.status === 401 };
      } catch (err) {
        const e = err as { code?: string; message?: string };
        return { ok: false, message: `${e.code ? `${e.code}: ` : ''}${e.message ?? String(err)}`, fatal: false };
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
    close: () => pool.close(),
  };
}
