// Exponential backoff with full jitter (a random wait between 0 and min(cap, base * 2^attempt)),
// so many proxies that lost the same gateway do not come back in lockstep.

export interface BackoffOptions {
  readonly baseMs?: number;
  readonly capMs?: number;
  readonly random?: () => number;
}

/** The wait before retry number `attempt` (1 for the first retry). */
export function backoffDelay(attempt: number, opts: BackoffOptions = {}): number {
  const base = opts.baseMs ?? 100;
  const cap = opts.capMs ?? 30_000;
  const random = opts.random ?? Math.random;
  const ceiling = Math.min(cap, base * 2 ** Math.min(attempt - 1, 30));
  return Math.floor(random() * ceiling);
}
