// The observability every program runs: the 5 s "Received N data points" line, the stat address
// (`stats` command, /metrics, /healthz liveness, /readyz readiness), process metrics, and
// -metrics-flush self-metrics. The registry comes with the process metrics (programRegistry).
import type { Stage } from '../lifecycle/stage.js';
import { createHeartbeat } from '../observe/heartbeat.js';
import { log } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';
import { createMetricsFlusher, runtimeGraphiteMetrics } from '../observe/graphite-flush.js';
import { createRateReporter } from '../observe/rate-reporter.js';
import { readinessReasons, type ReadinessSources } from '../observe/readiness.js';
import { createStatServer, type StatServer } from '../observe/stat-server.js';
import type { KeyLimits } from '../observe/status/status-json.js';

/** The 5 s rate line's loop: stale when it missed three of its turns. */
const RATE_LOOP = 'rate-reporter';
const RATE_INTERVAL_MS = 5000;

/** A queue as the original's runtime-stats writer reported it: path (`outgoing-queue.<destination>`,
 * the proxy's `queue`), current size, limit. There is no `incoming-queue`: nothing stands between
 * the listener and the destination queues. */
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
  /** -status-token. */
  statusToken: string;
  metricsFlushMs: number;
  /** Where self-metrics enter the program's own pipeline. */
  emit: (data: Buffer, points: number) => void;
  queues: () => QueueFigure[];
  /** What /readyz computes readiness from. */
  readiness: ReadinessSources;
  /** More JSON answers of the stat address, by path. */
  json?: Readonly<Record<string, () => unknown>>;
  /** A key's quotas for the status page (the gateway's). */
  keyLimits?: (key: string) => KeyLimits | undefined;
}): Promise<Observability> {
  const heartbeat = createHeartbeat();
  opts.registry.gauge('polymur_event_loop_lag_seconds', 'How late the event loop last turned', () => heartbeat.check().eventLoopLagMs / 1000);
  heartbeat.watch(RATE_LOOP, 3 * RATE_INTERVAL_MS);
  const rate = createRateReporter({ log, intervalMs: RATE_INTERVAL_MS, onTick: () => heartbeat.beat(RATE_LOOP) });
  let statServer: StatServer;
  try {
    statServer = await createStatServer({
      listenAddr: opts.statAddr,
      statusToken: opts.statusToken,
      registry: opts.registry,
      log,
      liveness: heartbeat.check,
      readiness: () => readinessReasons(opts.readiness),
      ...(opts.json ? { json: opts.json } : {}),
      keyLimits: opts.keyLimits,
    });
  } catch (err) {
    heartbeat.stop();
    rate.stop();
    throw err;
  }

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
  // The liveness heartbeat goes with the stat address that reports it.
  return {
    received: (points) => rate.add(points),
    reporting: { close: async () => stopReporting(), destroy: stopReporting },
    statServer: {
      close: () => {
        heartbeat.stop();
        return statServer.close();
      },
      destroy: () => {
        heartbeat.stop();
        statServer.destroy();
      },
    },
  };
}
