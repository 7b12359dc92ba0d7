// The input side shared by the proxy and the relay: the Graphite plaintext listener (and, when
// asked, the UDP and pickle listeners) feeding one batcher into the program's sink, and the observability every program runs (its self-metrics
// enter through the same batcher).
import type { BatchSink } from '../batch/batch.js';
import { createBatcher, type Batcher } from '../batch/batcher.js';
import type { BufferPool } from '../batch/buffer-pool.js';
import type { InputsConfig } from '../config/inputs-config.js';
import { createPickleListener } from '../input/pickle-listener.js';
import { createUdpListener } from '../input/udp-listener.js';
import { createScavengePacer, youngGenerationCollector } from '../input/scavenge-pacer.js';
import { createTcpListener, type TcpListener } from '../input/tcp-listener.js';
import type { Stage } from '../lifecycle/stage.js';
import { log } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';
import type { ReadinessSources } from '../observe/readiness.js';
import { startObservability, type QueueFigure } from './observability.js';

export interface InputConfig extends InputsConfig {
  readonly listenAddr: string;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly idleTimeoutMs: number;
  readonly statAddr: string;
  readonly statusToken: string;
  readonly metricsFlushMs: number;
  readonly batchSize: number;
}

/** The input's stages; a program closes them in this order, the sink after the batcher, the stat server last. */
export interface Input {
  readonly listener: TcpListener;
  readonly batcher: Batcher;
  /** In the order they close: the listeners (plaintext, and UDP and pickle when asked for), the self-metrics, the batcher. */
  readonly stages: ReadonlyArray<readonly [string, Stage]>;
  readonly statServer: Stage;
}

export async function startInput(opts: {
  config: InputConfig;
  flushIntervalMs: number;
  sink: BatchSink;
  /** Where batch buffers come from, when the sink gives them back once read (the proxy's compressing stage). */
  pool?: BufferPool;
  registry: Registry;
  queues: () => QueueFigure[];
  readiness: ReadinessSources;
}): Promise<Input> {
  const { config, registry } = opts;
  const batcher = createBatcher({
    batchSize: config.batchSize,
    flushIntervalMs: opts.flushIntervalMs,
    sink: opts.sink,
    ...(opts.pool ? { pool: opts.pool } : {}),
  });
  const observability = await startObservability({
    registry,
    statAddr: config.statAddr,
    statusToken: config.statusToken,
    metricsFlushMs: config.metricsFlushMs,
    emit: (data, points) => batcher.add(data, points),
    queues: opts.queues,
    readiness: opts.readiness,
  });
  // What every listener shares: where its points go, and (on TCP) the client limits.
  const into = { batcher, metrics: registry, log, onReceived: observability.received };
  const clientLimits = { maxConnections: config.maxConnections, maxConnectionsPerIp: config.maxConnectionsPerIp, idleTimeoutMs: config.idleTimeoutMs };
  const listener = await createTcpListener({
    listenAddr: config.listenAddr,
    ...into,
    ...clientLimits,
    onBytesRead: createScavengePacer({ collect: youngGenerationCollector() }).read,
  });
  const otherListeners: Array<readonly [string, Stage]> = [];
  if (config.listenUdp !== '') {
    const udp = await createUdpListener({ listenAddr: config.listenUdp, receiveBufferBytes: config.udpReceiveBufferBytes, ...into });
    otherListeners.push(['UDP listener', udp]);
  }
  if (config.listenPickle !== '') {
    const pickle = await createPickleListener({
      listenAddr: config.listenPickle,
      maxFrameBytes: config.maxPickleBytes,
      ...into,
      ...clientLimits,
    });
    otherListeners.push(['pickle listener', pickle]);
  }
  return {
    listener,
    batcher,
    stages: [['listener', listener], ...otherListeners, ['self-metrics', observability.reporting], ['batcher', batcher]],
    statServer: observability.statServer,
  };
}
