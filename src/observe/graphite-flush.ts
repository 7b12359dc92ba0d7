// -metrics-flush N: every N seconds the program's own figures become Graphite lines
// (`<hostname>.polymur.<name> <value> <timestamp>`) and enter its own pipeline.
import { hostname as osHostname } from 'node:os';
import { runtimeMeminfo } from './runtime-stats.js';

export function createMetricsFlusher(opts: {
  intervalMs: number;
  hostname?: string;
  now?: () => number;
  collect: () => Array<[name: string, value: number]>;
  emit: (data: Buffer, points: number) => void;
}): { stop(): void } {
  // Dots in a hostname would split it into several Graphite path segments.
  const host = (opts.hostname ?? osHostname()).replace(/\./g, '_');
  const now = opts.now ?? Date.now;
  const timer = setInterval(() => {
    const ts = Math.floor(now() / 1000);
    const figures = opts.collect().filter(([, v]) => Number.isFinite(v));
    if (figures.length === 0) return;
    const text = figures.map(([name, value]) => `${host}.polymur.${name} ${Number.isInteger(value) ? value : value.toFixed(2)} ${ts}\n`).join('');
    opts.emit(Buffer.from(text), figures.length);
  }, opts.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** The original's `runtime.*` self-metrics. */
export function runtimeGraphiteMetrics(): Array<[string, number]> {
  return Object.entries(runtimeMeminfo()).map(([k, v]) => [`runtime.${k}`, v]);
}
