// The observability every program runs: the 5 s "Received N data points" line, the stat address
// (`stats` command, /metrics, /healthz), process metrics, and -metrics-flush self-metrics.
import type { Stage } from '../lifecycle/stage.js';
import { log } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';
import { createMetricsFlusher, runtimeGraphiteMetrics } from '../observe/graphite-flush.js';
import { registerProcessMetrics } from '../observe/process-metrics.js';
import { createRateReporter } from '../observe/rate-reporter.js';
import { createStatServer } from '../observe/stat-server.js';

/** A queue as the original's runtime-stats writer reported it: path (`incoming-queue`,
 * `outgoing-queue.<destination>`), current size, limit. */
export type QueueFigure = readonly [name: string, size: number, limit: number];

export interface Observability {
  /** Count data points received (feeds the 5 s line and the `rate` self-metric). */
  received(points: number): void;
  /** The periodic lines and self-metrics: stopped before the pipeline they feed closes. */
  readonly reporting: Stage;
  /** The stat address: closed last, so the shutdown can be watched. */
  readonly statServer: Stage;
}

export async function startObservability(opts: {
  registry: Registry;
  statAddr: string;
  metricsFlushMs: number;
  /** Where self-metrics enter the program's own pipeline. */
  emit: (data: Buffer, points: number) => void;
  queues: () => QueueFigure[];
  health?: () => { ok: boolean; details?: Record<string, unknown> };
}): Promise<Observability> {
  registerProcessMetrics(opts.registry);
  const rate = createRateReporter({ log });
  const statServer = await createStatServer({
    listenAddr: opts.statAddr,
    registry: opts.registry,
    log,
    ...(opts.health ? { health: opts.health } : {}),
  });

  const flusher =
    opts.metricsFlushMs > 0
      ? createMetricsFlusher({
          intervalMs: opts.metricsFlushMs,
          collect: () => {
            const figures: Array<[string, number]> = [['rate', rate.rate()], ...runtimeGraphiteMetrics()];
            for (const [name, size, limit] of opts.queues()) {
              figures.push([`${name}.current-size`, size], [`${name}.limit`, limit]);
            }
            return figures;
          },
          emit: opts.emit,
        })
      : undefined;

  const stopReporting = (): void => {
    flusher?.stop();
    rate.stop();
  };
  return {
    received: (points) => rate.add(points),
    reporting: { close: async () => stopReporting(), destroy: stopReporting },
    statServer,
  };
}
