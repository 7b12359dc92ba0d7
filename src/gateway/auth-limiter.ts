// Failed authentications per client address: after maxFailures within windowMs the address gets
// 429 until its window ends. Valid clients are never slowed: only failures count. The table is
// bounded, so a flood from many addresses cannot grow memory.

export interface AuthLimiter {
  blocked(address: string): boolean;
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
    blocked: (address) => (current(address)?.failures ?? 0) >= opts.maxFailures,
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
