// The original's 5 s line: "Last 5.00s: Received N data points | Avg: X/sec.", when N > 0.

export interface RateReporter {
  add(points: number): void;
  /** Points per second over the last full interval (the original's `rate` self-metric). */
  rate(): number;
  stop(): void;
}

export function createRateReporter(opts: {
  log: (m: string) => void;
  intervalMs?: number;
  now?: () => number;
  setInterval?: (fn: () => void, ms: number) => { unref?: () => void };
  clearInterval?: (handle: never) => void;
  /** Called after every interval's report (the liveness heartbeat's beat). */
  onTick?: () => void;
}): RateReporter {
  const intervalMs = opts.intervalMs ?? 5000;
  const now = opts.now ?? Date.now;
  let inInterval = 0;
  let lastRate = 0;
  let since = now();
  const tick = (): void => {
    const t = now();
    const seconds = (t - since) / 1000;
    lastRate = seconds > 0 ? inInterval / seconds : 0;
    if (inInterval > 0) {
      opts.log(`Last ${seconds.toFixed(2)}s: Received ${inInterval} data points | Avg: ${lastRate.toFixed(2)}/sec.`);
    }
    inInterval = 0;
    since = t;
    opts.onTick?.();
  };
  const handle = (opts.setInterval ?? setInterval)(tick, intervalMs);
  handle.unref?.();
  return {
    add(points) {
      inInterval += points;
    },
    rate: () => lastRate,
    stop: () => (opts.clearInterval ?? clearInterval)(handle as never),
  };
}
