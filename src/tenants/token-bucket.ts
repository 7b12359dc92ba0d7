// A key's points-per-second limit: a token bucket of `burst` points refilled at `rate` points a
// second. A batch takes all its points or nothing (the gateway never accepts part of a batch). A
// batch larger than the burst could never fit: it is let through when the bucket is full and
// leaves it in debt, so the next batches wait until the debt is paid and the rate over time holds.

export interface TokenBucketLimits {
  /** Points per second. */
  readonly rate: number;
  /** The most points the bucket holds. */
  readonly burst: number;
}

export interface TokenBucket {
  /** Takes `points` now and returns 0, or takes nothing and returns the ms until it could take them. */
  take(points: number, nowMs: number): number;
  /** Gives back what a batch took when it was not delivered after all (its destinations were full). */
  giveBack(points: number, nowMs: number): void;
  /** New limits (the key store changed); the points held stay, up to the new burst. */
  configure(limits: TokenBucketLimits, nowMs: number): void;
  /** Points held at `nowMs` (negative: in debt). */
  level(nowMs: number): number;
}

export function createTokenBucket(initial: TokenBucketLimits, nowMs: number): TokenBucket {
  let { rate, burst } = initial;
  let tokens = burst;
  let at = nowMs;

  const refill = (now: number): void => {
    // A clock that went back refills nothing; it does not empty the bucket either.
    if (now > at) tokens = Math.min(burst, tokens + ((now - at) * rate) / 1000);
    at = Math.max(at, now);
  };
  const msUntil = (level: number): number => Math.ceil(((level - tokens) * 1000) / rate);

  return {
    take(points, now) {
      refill(now);
      if (points <= tokens) {
        tokens -= points;
        return 0;
      }
      if (points > burst) {
        // Too large ever to fit: through once the bucket is full, which then pays it off.
        if (tokens >= burst) {
          tokens -= points;
          return 0;
        }
        return Math.max(1, msUntil(burst));
      }
      return Math.max(1, msUntil(points));
    },
    giveBack(points, now) {
      refill(now);
      tokens = Math.min(burst, tokens + points);
    },
    configure(limits, now) {
      refill(now);
      rate = limits.rate;
      burst = limits.burst;
      tokens = Math.min(tokens, burst);
    },
    level(now) {
      refill(now);
      return tokens;
    },
  };
}
