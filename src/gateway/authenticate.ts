// The API key of a request (X-Polymur-Key) checked against the key store: the key's name, or
// 401 (unknown key) and 429 (too many failures from that client address, auth-limiter.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TrustedProxies } from '../net/trusted-proxies.js';
import { createAuthLimiter } from './auth-limiter.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import type { Reply } from './reply.js';

export interface KeyLookup {
  lookup(key: string): string | undefined;
}

/** How long failed authentications from an address are remembered. */
const AUTH_WINDOW_MS = 60_000;

export type Authenticate = (req: IncomingMessage, res: ServerResponse, path: string) => string | undefined;

export function createAuthenticate(opts: {
  readonly keys: KeyLookup;
  readonly trusted: TrustedProxies;
  readonly authFailureLimit: number;
  readonly metrics: GatewayMetrics;
  readonly reply: Reply;
  /** The rate-limited log of refused clients. */
  readonly log: (m: string) => void;
}): Authenticate {
  const limiter = createAuthLimiter({ maxFailures: opts.authFailureLimit, windowMs: AUTH_WINDOW_MS });
  /**
   * The key's name, or undefined after answering 401/429. A valid key always goes through: the
   * limiter slows failing attempts only, so a client behind the same NAT or load balancer as
   * someone guessing keys is never locked out.
   */
  return (req, res, path) => {
    const header = req.headers['x-polymur-key'];
    const key = Array.isArray(header) ? header[0] : header;
    const name = key === undefined ? undefined : opts.keys.lookup(key);
    if (name !== undefined) return name;
    // Behind a trusted balancer every client has its address: one bad client must not block the rest.
    const client = opts.trusted.clientOf(req);
    const blockedMs = limiter.blockedForMs(client.address);
    if (blockedMs > 0) {
      opts.reply(res, path, 429, 'too many invalid keys\n', { 'retry-after': String(Math.ceil(blockedMs / 1000)), connection: 'close' });
      return undefined;
    }
    opts.metrics.authFailures.inc();
    limiter.failed(client.address);
    opts.log(`[client ${client.label}] invalid key`);
    opts.reply(res, path, 401, 'invalid key');
    return undefined;
  };
}
