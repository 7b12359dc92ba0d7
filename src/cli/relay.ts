#!/usr/bin/env node
// polymur: the plain relay. Graphite plaintext in, Graphite plaintext out to the destinations.
import { createBatcher } from '../batch/batcher.js';
import { RELAY_FLAGS } from '../config/programs.js';
import { readRelayConfig, type RelayConfig } from '../config/relay-config.js';
import { createTcpListener } from '../input/tcp-listener.js';
import { log } from '../observe/log.js';
import { Registry } from '../observe/metrics.js';
import { startObservability } from './observability.js';
import { runProgram, type Running } from './program.js';
import { startOutput } from './routing.js';

async function start(config: RelayConfig): Promise<Running> {
  log('::: Polymur :::');
  const registry = new Registry();
  const output = await startOutput(config, registry);
  const batcher = createBatcher({ batchSize: config.batchSize, flushIntervalMs: config.flushIntervalMs, sink: output.sink });
  const observability = await startObservability({
    registry,
    statAddr: config.statAddr,
    metricsFlushMs: config.metricsFlushMs,
    emit: (data, points) => batcher.add(data, points),
    queues: () => [['incoming-queue', 0, config.incomingQueueCap], ...output.queues()],
  });
  const listener = await createTcpListener({
    listenAddr: config.listenAddr,
    batcher,
    maxConnections: config.maxConnections,
    metrics: registry,
    log,
    onReceived: observability.received,
  });
  return {
    async shutdown() {
      await listener.close();
      await batcher.close();
      await output.close();
      await observability.close();
    },
  };
}

await runProgram({
  program: 'polymur',
  flags: RELAY_FLAGS,
  envPrefix: 'POLYMUR',
  readConfig: readRelayConfig,
  start,
});
