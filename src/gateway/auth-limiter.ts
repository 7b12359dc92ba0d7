// Failed authentications per client address: after maxFailures within windowMs, the failing
// attempts from that address get 429 until its window ends (Retry-After: the time left of it). It judges failures only: the gateway
// lets a valid key through before asking it (server.ts), since many clients may share an address
// (NAT, a load balancer) with someone guessing. The table is bounded, so a flood from many
// addresses cannot grow memory.

export interface AuthLimiter {
  /** How long the address's failing attempts are still refused: 0 when they are not. */
  blockedForMs(address: string): number;
  failed(address: string): void;
}

export function createAuthLimiter(opts: { maxFailures: number; windowMs: number; maxAddresses?: number; now?: () => number }): AuthLimiter {
  const now = opts.now ?? Date.now;
  const maxAddresses = opts.maxAddresses ?? 10_000;
  const windows = new Map<string, { start: number; failures: number }>();

  const current = (address: string): { start: number; failures: number } | undefined => {
    const w = windows.get(address);
    if (w && now() - w.start >= opts.windowMs) {
      windows.delete(address);
      return undefined;
    }
    return w;
  };

  return {
    blockedForMs(address) {
      const w = current(address);
      return w !== undefined && w.failures >= opts.maxFailures ? w.start + opts.windowMs - now() : 0;
    },
    failed(address) {
      const w = current(address);
      if (w) {
        w.failures++;
        return;
      }
      if (windows.size >= maxAddresses) windows.delete(windows.keys().next().value!);
      windows.set(address, { start: now(), failures: 1 });
    },
  };
}
