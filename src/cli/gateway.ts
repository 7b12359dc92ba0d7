#!/usr/bin/env node
// polymur-gateway: proxy batches in over HTTP(S) with an API key, Graphite plaintext out to the destinations.
import { readFileSync } from 'node:fs';
import { GATEWAY_FLAGS } from '../config/programs.js';
import { readGatewayConfig, type GatewayConfig } from '../config/gateway-config.js';
import { createGateway } from '../gateway/server.js';
import { createKeyCache, createStaticKeys } from '../keys/cache.js';
import { openKeyStore } from '../keys/store.js';
import { log } from '../observe/log.js';
import { Registry } from '../observe/metrics.js';
import { startObservability } from './observability.js';
import { keptIn, runProgram, type Running, type StartUp } from './program.js';
import { startOutput } from './routing.js';

async function start(config: GatewayConfig, startUp: StartUp): Promise<Running> {
  log('::: Polymur-gateway :::');
  const registry = new Registry();
  const keys = config.devMode
    ? createStaticKeys(new Map([['dev', '123']]))
    : createKeyCache({ store: openKeyStore(config.keyStore), log, metrics: registry });
  // The key store may not answer: a signal meanwhile releases what is open.
  await startUp.track('keys', keys).start();

  const output = await startOutput(config, registry);
  for (const [name, stage] of output.stages) startUp.track(name, stage);
  const observability = await startObservability({
    registry,
    statAddr: config.statAddr,
    metricsFlushMs: config.metricsFlushMs,
    // Self-metrics are a handful of lines; when the destinations are full they wait for the next flush.
    emit: (data, points) => void output.sink.offer({ data, points }),
    queues: output.queues,
    readiness: { ...output.readiness, keysLoaded: keys.loaded },
  });

  if (config.httpPort !== undefined && config.httpsPort === undefined) {
    log('WARNING: no -cert/-key given: serving plain HTTP, API keys and metrics travel in clear text');
  }
  const gateway = await createGateway({
    listenAddr: config.listenAddr,
    ...(config.httpPort !== undefined ? { httpPort: config.httpPort } : {}),
    ...(config.httpsPort !== undefined
      ? {
          httpsPort: config.httpsPort,
          tls: {
            cert: readFileSync(config.certPath),
            key: readFileSync(config.keyPath),
            minVersion: config.tlsMinVersion,
            ...(config.clientCaPath !== '' ? { clientCa: readFileSync(config.clientCaPath) } : {}),
          },
        }
      : {}),
    keys,
    sink: output.sink,
    keyPrefix: config.keyPrefix,
    maxBatchBytes: config.maxBatchBytes,
    maxBodyBytes: config.maxBodyBytes,
    maxInflightBytes: config.maxInflightBytes,
    headersTimeoutMs: config.readHeaderTimeoutMs,
    requestTimeoutMs: config.readTimeoutMs,
    maxConnections: config.maxConnections,
    maxConnectionsPerIp: config.maxConnectionsPerIp,
    trustedProxies: config.trustedProxies,
    metrics: registry,
    log,
    onReceived: observability.received,
  });

  return {
    stages: [
      ['gateway', gateway],
      ['self-metrics', observability.reporting],
      ...output.stages,
      ['keys', keys],
      ['stat server', observability.statServer],
    ],
    // A request cut off in flight was not answered 200: its sender still has it.
    undelivered: () => [[output.undelivered(), keptIn(config.spoolDir)]],
  };
}

await runProgram({
  program: 'polymur-gateway',
  flags: GATEWAY_FLAGS,
  envPrefix: 'POLYMUR_GW',
  readConfig: readGatewayConfig,
  start,
});
