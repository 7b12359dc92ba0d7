// Liveness, measured: an unref'd timer records when the event loop last turned and how late it
// turned (a loop blocked by a long synchronous task fires its timers late), and background loops
// report their progress with beat(name). /healthz is 200 while the lag is under its bound and every
// watched loop beat recently, 503 naming what is stale otherwise.

export interface Liveness {
  readonly ok: boolean;
  /** How late the event loop is now: the last tick's delay, or the time since a tick was due. */
  readonly eventLoopLagMs: number;
  /** Per watched loop: milliseconds since it last beat. */
  readonly loops: Readonly<Record<string, number>>;
  /** Empty when ok. */
  readonly reasons: readonly string[];
}

export interface Heartbeat {
  /** A loop expected to beat at least every `maxSilenceMs` (it counts as having beaten now). */
  watch(loop: string, maxSilenceMs: number): void;
  /** The loop made progress. */
  beat(loop: string): void;
  check(): Liveness;
  stop(): void;
}

export function createHeartbeat(
  opts: {
    /** The event loop's lag above which the process is not live. */
    maxLagMs?: number;
    intervalMs?: number;
    now?: () => number;
  } = {},
): Heartbeat {
  const maxLagMs = opts.maxLagMs ?? 5000;
  const intervalMs = opts.intervalMs ?? 500;
  const now = opts.now ?? (() => performance.now());
  let lastTick = now();
  let lastLag = 0;
  const loops = new Map<string, { maxSilenceMs: number; last: number }>();

  const timer = setInterval(() => {
    const t = now();
    lastLag = Math.max(0, t - lastTick - intervalMs);
    lastTick = t;
  }, intervalMs);
  timer.unref();

  return {
    watch(loop, maxSilenceMs) {
      loops.set(loop, { maxSilenceMs, last: now() });
    },
    beat(loop) {
      const l = loops.get(loop);
      if (l) l.last = now();
    },
    check() {
      const t = now();
      // A tick overdue now counts as much as a late one already seen: a blocked loop is seen at once.
      const lag = Math.round(Math.max(lastLag, t - lastTick - intervalMs));
      const reasons: string[] = [];
      if (lag > maxLagMs) reasons.push(`event loop lag ${lag} ms is over ${maxLagMs} ms`);
      const silence: Record<string, number> = {};
      for (const [name, l] of loops) {
        silence[name] = Math.round(t - l.last);
        if (t - l.last > l.maxSilenceMs) reasons.push(`loop ${name} made no progress for ${silence[name]} ms (bound ${l.maxSilenceMs} ms)`);
      }
      return { ok: reasons.length === 0, eventLoopLagMs: lag, loops: silence, reasons };
    },
    stop: () => clearInterval(timer),
  };
}
