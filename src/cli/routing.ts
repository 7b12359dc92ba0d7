// The output side shared by the gateway and the relay: the router to the destinations (or the
// console), the destination API, and each destination's queue (in memory or spooled to disk).
import type { RoutingConfig } from '../config/routing-config.js';
import type { NamedStage } from '../lifecycle/stage.js';
import { log } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';
import type { QueueView, ReadinessSources } from '../observe/readiness.js';
import { createDestinationApi, type DestinationControl } from '../route/api.js';
import { join } from 'node:path';
import { DestinationError, parseDestinations, type DestinationAddress } from '../route/destination.js';
import { openSpoolQueue } from '../spool/spool-queue.js';
import { createConsoleSink } from '../route/console-sink.js';
import { createRouter, type Router } from '../route/router.js';
import type { SplitSink } from '../route/split.js';
import type { QueueFigure } from './observability.js';
import type { ReloadPart } from './reload.js';
import { destinationsFilePart, ruleFilesPart } from './reload-parts.js';
import { createRuleFiles, type RuleFiles } from '../rules/rule-files.js';
import { readSocketBufferLimits } from '../net/socket-buffers.js';
import { queuesSource } from '../net/tcp-diag.js';

export interface Output {
  /** The router (or the console): the relay's rule files hand it their own pass over each batch's lines. */
  readonly sink: SplitSink;
  /** Per-destination queue figures for -metrics-flush. */
  queues(): QueueFigure[];
  /** In shutdown order: the destination API, then the router (which drains the queues to the destinations). */
  readonly stages: readonly NamedStage[];
  /** Data points queued for the destinations and not written yet. */
  undelivered(): number;
  /** A destination up, and each destination's queue able to store and not nearly full. */
  readonly readiness: ReadinessSources;
  /** SIGHUP: the -destinations-file and the rule files, when given. */
  readonly reloadParts: readonly ReloadPart[];
  /** -rewrite-rules, -blacklist, -whitelist, -tag-normalize (inactive when none is given). */
  readonly rules: RuleFiles;
}

const CONSOLE_DESTINATIONS: DestinationControl = {
  destinations: () => [],
  addDestination() {
    throw new DestinationError('-console-out: the output goes to the console, destinations cannot be added');
  },
  removeDestination(text) {
    throw new DestinationError(`destination ${text} is not registered (-console-out)`);
  },
};

/** Average bytes per Graphite line, to turn a cap in points into a cap in bytes. */
const BYTES_PER_POINT_ESTIMATE = 128;

/** What one destination connection may hold unread, as the kernel's limits say; logged, with a warning when -resend-window-bytes cannot keep it. */
function resendWindowCover(config: RoutingConfig): number | undefined {
  if (config.resendWindowMs === 0 || config.resendWindowBytes === 0) return undefined;
  const limits = readSocketBufferLimits();
  if (!limits) {
    log(`Resend window: the socket buffer sizes cannot be read here; each destination's window keeps the last -resend-window-bytes (${config.resendWindowBytes} bytes)`);
    return undefined;
  }
  const cover = limits.sendBytes + limits.receiveBytes;
  log(
    `Resend window: a destination connection holds at most ${cover} bytes unread (send buffer ${limits.sendBytes} + receive buffer ${limits.receiveBytes}, from ${limits.source}); what the destination read is let go of as the kernel counts it, by ${queuesSource}`,
  );
  if (config.resendWindowBytes < cover) {
    log(
      `Warning: -resend-window-bytes ${config.resendWindowBytes} is below the ${cover} bytes a destination connection may hold unread: a destination that stops reading may lose data points (counted in polymur_resend_window_uncovered_points_total)`,
    );
  }
  return cover;
}

export async function startOutput(config: RoutingConfig, registry: Registry): Promise<Output> {
  const rules = createRuleFiles({ ...config.rules, metrics: registry, log });
  const rulesReload = rules.active ? [ruleFilesPart(rules, config.rules.paths)] : [];
  if (config.consoleOut) {
    const sink = createConsoleSink();
    // The original opens -api-addr with -console-out too: getdest answers (no destinations), changes are refused.
    const api = await createDestinationApi({ listenAddr: config.apiAddr, router: CONSOLE_DESTINATIONS, token: config.apiToken, log, metrics: registry });
    return {
      sink,
      queues: () => [],
      readiness: {},
      stages: [
        ['destination API', api],
        ['console', sink],
        ['rule files', rules],
      ],
      undelivered: () => 0,
      reloadParts: rulesReload,
      rules,
    };
  }
  const destinations = parseDestinations(config.destinations.join(','), config.distribution);
  const queueMaxBytes = Math.max(config.outgoingQueueCap * BYTES_PER_POINT_ESTIMATE, 64 * 1024 * 1024);
  const unreadBytesPerConnection = resendWindowCover(config);
  const router: Router = createRouter({
    destinations,
    distribution: config.distribution,
    hashType: config.hashType,
    replicationFactor: config.replicationFactor,
    nameCacheNames: config.routeCacheNames,
    queueCapPoints: config.outgoingQueueCap,
    queueMaxBytes,
    whenFull: config.whenFull,
    writeTimeoutMs: config.writeTimeoutMs,
    resendWindowMs: config.resendWindowMs,
    resendWindowBytes: config.resendWindowBytes,
    maxUnreadBytes: config.maxUnreadBytes,
    ...(unreadBytesPerConnection !== undefined ? { unreadBytesPerConnection } : {}),
    metrics: registry,
    log,
    drainTimeoutMs: config.shutdownTimeoutMs,
    ...(config.spoolDir !== ''
      ? {
          makeQueue: (dest: DestinationAddress) =>
            openSpoolQueue({
              dir: join(config.spoolDir, dest.id.replace(/[^A-Za-z0-9_.-]/g, '_')),
              // The spool's size is this queue's only bound (-outgoing-queue-cap is for memory);
              // the router applies -when-full itself.
              maxBytes: config.spoolMaxBytes,
              fsync: config.spoolFsync,
              policy: 'block',
              log,
              metrics: registry,
              labels: { destination: dest.id },
            }),
        }
      : {}),
  });
  const api = await createDestinationApi({ listenAddr: config.apiAddr, router, token: config.apiToken, log, metrics: registry });
  // The router refuses a batch once a destination holds -outgoing-queue-cap points: that is its limit in points.
  const capped = (queue: QueueView): QueueView => ({
    depth: () => queue.depth(),
    limits: () => ({ ...queue.limits(), points: Math.min(queue.limits().points, config.outgoingQueueCap) }),
    fault: () => queue.fault(),
  });
  return {
    readiness: {
      destinations: () => router.destinations(),
      queues: () => router.destinations().map((d) => [`queue of destination ${d.id}`, capped(d.queue)] as const),
    },
    sink: router,
    queues: () =>
      // The original's path: dots of the destination become underscores, its colons stay.
      router.destinations().map((d) => [`outgoing-queue.${d.id.replace(/\./g, '_')}`, d.queuedPoints, config.outgoingQueueCap] as const),
    stages: [
      ['destination API', api],
      ['router', router],
      ['rule files', rules],
    ],
    undelivered: () => router.destinations().reduce((sum, d) => sum + d.queuedPoints, 0),
    reloadParts: [
      ...(config.destinationsFile !== ''
        ? [destinationsFilePart(router, { path: config.destinationsFile, distribution: config.distribution, replicationFactor: config.replicationFactor }, config.destinations)]
        : []),
      ...rulesReload,
    ],
    rules,
  };
}
