// How long a key change takes to reach each gateway: from a moment the caller took (polymur-keys
// returned: the write is committed in the store) until the gateway's /ping answers as expected.
import { rawPost } from './raw-http.js';

export interface PingTarget {
  readonly port: number;
  readonly cert: { readonly cert: Buffer };
}

/**
 * Milliseconds from `since` until each gateway answers /ping with `status` for `key`; rejects after
 * timeoutMs. `localAddress` (127.0.0.x): the pings' source, one per measurement, since the gateway
 * limits failed authentications per address (429) and polling for a key not there yet fails often.
 */
export async function propagationMs(gateways: readonly PingTarget[], key: string, status: 200 | 401, since: number, localAddress?: string, timeoutMs = 10_000): Promise<number[]> {
  return Promise.all(
    gateways.map(async (g, i) => {
      for (;;) {
        const r = await rawPost(g.port, g.cert.cert, '/ping', key, Buffer.alloc(0), localAddress).catch(() => undefined);
        const at = Date.now();
        if (r?.status === status) return at - since;
        if (at - since > timeoutMs) throw new Error(`gateway #${i} still answers ${r?.status ?? 'nothing'} instead of ${status} after ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }),
  );
}
