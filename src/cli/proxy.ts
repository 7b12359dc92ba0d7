#!/usr/bin/env node
// polymur-proxy: Graphite plaintext in, batched gzip over HTTPS to polymur-gateway out.
import { readFileSync } from 'node:fs';
import type { Batch, BatchQueue } from '../batch/batch.js';
import { createBufferPool } from '../batch/buffer-pool.js';
import { createMemoryQueue } from '../batch/memory-queue.js';
import { PROXY_FLAGS } from '../config/programs.js';
import { plainHttpWarnings, readProxyConfig, type ProxyConfig } from '../config/proxy-config.js';
import { createCompressingSink } from '../forward/compressing-sink.js';
import { createDeadLetter } from '../forward/dead-letter.js';
import { createConsoleForwarder, createForwarder } from '../forward/forwarder.js';
import { describeProxy } from '../forward/egress-proxy.js';
import { gzipEngine } from '../forward/gzip.js';
import { createRereadOnRefusal, type RereadOnRefusal } from '../forward/reread-on-refusal.js';
import { log } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';
import { registerQueueMetrics } from '../observe/queue-metrics.js';
import { openSpoolQueue } from '../spool/spool-queue.js';
import { startInput } from './input.js';
import { createReloader } from './reload.js';
import { proxyCredentialParts } from './reload-parts.js';
import { programRegistry } from './version.js';
import { keptIn, LOST, runProgram, type Running, type StartUp } from './program.js';

/**
 * Batches gzipped at once on libuv's thread pool. Two keep up with the forwarder on two cores;
 * more cost peak RSS (malloc arenas of the busier pool threads) for no throughput (bench/README.md).
 */
const COMPRESSIONS_AT_ONCE = 2;

function countDrops(registry: Registry): (batch: Batch) => void {
  const dropped = registry.counter('polymur_points_dropped_total', 'Data points dropped, by reason', [{ reason: 'queue_full' }]);
  return (batch) => {
    dropped.inc(batch.points, { reason: 'queue_full' });
    log(`Queue full (-when-full drop): dropped a batch of ${batch.points} data points`);
  };
}

async function openQueue(config: ProxyConfig, registry: Registry): Promise<BatchQueue> {
  const onDrop = countDrops(registry);
  if (config.spoolDir !== '') {
    return openSpoolQueue({
      dir: config.spoolDir,
      maxBytes: config.spoolMaxBytes,
      fsync: config.spoolFsync,
      policy: config.whenFull,
      log,
      metrics: registry,
      onDrop,
    });
  }
  return createMemoryQueue({ maxBatches: config.queueCap, maxBytes: config.queueMaxBytes, policy: config.whenFull, onDrop });
}

function readCa(path: string): Buffer | undefined {
  if (path === '') return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`cannot read -cert ${path}: ${(err as Error).message}`);
  }
}

async function start(config: ProxyConfig, startUp: StartUp): Promise<Running> {
  log('::: Polymur-proxy :::');
  const registry = programRegistry('polymur-proxy');
  const ca = readCa(config.certPath);
  if (!config.consoleOut) for (const warning of plainHttpWarnings(config.gateways)) log(warning);
  const proxies = new Map<string, URL>();
  for (const [gateway, { proxy, why }] of config.egress) {
    log(proxy ? `Gateway ${gateway} through forward proxy ${describeProxy(proxy)} (${why})` : `Gateway ${gateway} direct (${why})`);
    if (proxy) proxies.set(gateway, proxy);
  }
  const queue = startUp.track('queue', await openQueue(config, registry));

  if (!config.consoleOut) log(`gzip: ${gzipEngine}`);
  // Set once the credential parts exist (they need the forwarder): a 401 re-reads -api-key-file.
  let onUnauthorized: RereadOnRefusal | undefined;
  const gatewayForwarder = config.consoleOut
    ? undefined
    : createForwarder({
        queue,
        gateways: config.gateways,
        apiKey: config.apiKey,
        ...(ca ? { ca } : {}),
        proxies,
        workers: config.workers,
        batchSize: config.batchSize,
        timeoutMs: config.timeoutMs,
        maxRetryDelayMs: config.maxRetryDelayMs,
        deadLetter: createDeadLetter({ path: config.deadLetterPath, maxBytes: config.deadLetterMaxBytes, metrics: registry, log }),
        verbose: config.verbose,
        metrics: registry,
        log,
        onFatal: (message) => {
          log(message);
          process.exit(1);
        },
        onUnauthorized: async (signal) => onUnauthorized?.(signal),
      });
  const credentials = gatewayForwarder
    ? proxyCredentialParts({ forwarder: gatewayForwarder, apiKey: config.apiKey, ca, apiKeyFile: config.apiKeyFile, caPath: config.certPath })
    : { parts: [] };
  if (credentials.rereadApiKey) {
    onUnauthorized = createRereadOnRefusal({ reread: credentials.rereadApiKey, what: `-api-key-file ${config.apiKeyFile}`, metrics: registry, log });
  }
  const forwarder = gatewayForwarder ?? createConsoleForwarder({ queue });
  // The gateway is pinged in the background: the listener opens at once, what arrives is queued.
  startUp.track('forwarder', forwarder).start();
  registerQueueMetrics(registry, () => [{ labels: {}, depth: queue.depth(), limits: queue.limits() }]);
  registry.gauge('polymur_destination_up', 'Whether the destination is reachable (the proxy: the last attempt to reach a gateway succeeded)', () =>
    forwarder.gatewayUp() ? 1 : 0,
  );

  // The in-memory queue holds batches compressed (a fourth of the memory for the same points); the
  // spool holds them raw, so that what was read is on disk at once, and -console-out prints them.
  // A free buffer for each batch compressing and one being filled: raw batch buffers are reused.
  const pool = config.spoolDir === '' && !config.consoleOut ? createBufferPool({ keep: COMPRESSIONS_AT_ONCE + 1 }) : undefined;
  const compressor = pool ? createCompressingSink({ sink: queue, concurrency: COMPRESSIONS_AT_ONCE, pool, metrics: registry, log }) : undefined;
  const input = await startInput({
    config,
    // With a spool, what was read goes to disk at once (nothing waits in memory for the flush
    // interval); the forwarder still joins spooled records into batches of up to -batch-size.
    flushIntervalMs: config.spoolDir !== '' ? 0 : config.flushIntervalMs,
    sink: compressor ?? queue,
    ...(pool ? { pool } : {}),
    registry,
    queues: () => [['queue', queue.depth().batches, config.queueCap]],
    readiness: { gatewayUp: forwarder.gatewayUp, queues: () => [['queue to the gateway', queue]] },
  });

  return {
    stages: [...input.stages, ...(compressor ? [['compressor', compressor] as const] : []), ['queue', queue], ['forwarder', forwarder], ['stat server', input.statServer]],
    undelivered: () => [
      [forwarder.undelivered(), keptIn(config.spoolDir)],
      [input.batcher.held() + (compressor?.held() ?? 0), LOST],
    ],
    reload: createReloader(credentials.parts, log),
  };
}

await runProgram({
  program: 'polymur-proxy',
  flags: PROXY_FLAGS,
  envPrefix: 'POLYMUR_PROXY',
  readConfig: readProxyConfig,
  start,
});
