#!/usr/bin/env node
// polymur-gateway: proxy batches in over HTTP(S) with an API key, Graphite plaintext out to the destinations.
import { GATEWAY_FLAGS } from '../config/programs.js';
import { readGatewayConfig, type GatewayConfig } from '../config/gateway-config.js';
import { createGateway } from '../gateway/server.js';
import { createKeyCache, createStaticKeys } from '../keys/cache.js';
import { createKeyCopy } from '../keys/last-known-good.js';
import { openKeyStore } from '../keys/open-store.js';
import { certificateSummary, readGatewayTls } from '../net/tls-files.js';
import { log } from '../observe/log.js';
import { startObservability } from './observability.js';
import { keptIn, runProgram, type Running, type StartUp } from './program.js';
import { createReloader, type ReloadPart } from './reload.js';
import { certificatePart, keyStorePart } from './reload-parts.js';
import { startOutput } from './routing.js';
import { programRegistry } from './version.js';
import { createTenantAccounting } from '../tenants/accounting.js';
import { createTenantGate } from '../tenants/gate.js';
import { keyLimitsOf, tenantsReport, TENANTS_PATH } from '../tenants/report.js';

async function start(config: GatewayConfig, startUp: StartUp): Promise<Running> {
  log('::: Polymur-gateway :::');
  const registry = programRegistry('polymur-gateway');
  if (config.devMode) log("Running in dev-mode: API-key set to '123'");
  const store = config.devMode ? undefined : openKeyStore(config.keyStore, config.keyStoreAccess);
  const keys = store
    ? createKeyCache({
        store,
        refreshMs: config.keyRefreshMs,
        log,
        metrics: registry,
        ...(config.keyCopyPath !== undefined
          ? { copy: createKeyCopy(config.keyCopyPath) }
          : config.keyStore.startsWith('file:')
            ? {}
            : { noCopyHint: 'one is kept in -state-dir or $STATE_DIRECTORY: none is set' }),
      })
    : createStaticKeys(new Map([['dev', '123']]));
  // The key store may not answer: a signal meanwhile releases what is open.
  await startUp.track('keys', keys).start();

  const tlsPaths = { certPath: config.certPath, keyPath: config.keyPath, clientCaPath: config.clientCaPath, minVersion: config.tlsMinVersion };
  const tls = config.httpsPort !== undefined ? readGatewayTls(tlsPaths) : undefined;
  const accounting = createTenantAccounting({ metrics: registry, maxTrackedKeys: config.maxTenantSeries });
  const tenants = createTenantGate({ accounting, records: (name) => keys.record(name), log });
  const output = await startOutput(config, registry);
  for (const [name, stage] of output.stages) startUp.track(name, stage);
  const observability = await startObservability({
    registry,
    statAddr: config.statAddr,
    statusToken: config.statusToken,
    metricsFlushMs: config.metricsFlushMs,
    // Self-metrics are a handful of lines; when the destinations are full they wait for the next flush.
    emit: (data, points) => void output.sink.offer({ data, points }),
    queues: output.queues,
    readiness: { ...output.readiness, keysLoaded: keys.loaded },
    json: { [TENANTS_PATH]: () => tenantsReport(accounting, (name) => keys.record(name)) },
    keyLimits: (name) => keyLimitsOf(keys.record(name)),
  });

  if (config.httpPort !== undefined && config.httpsPort === undefined) {
    log('WARNING: no -cert/-key given: serving plain HTTP, API keys and metrics travel in clear text');
  }
  const gateway = await createGateway({
    listenAddr: config.listenAddr,
    ...(config.httpPort !== undefined ? { httpPort: config.httpPort } : {}),
    ...(config.httpsPort !== undefined && tls ? { httpsPort: config.httpsPort, tls: tls.tls } : {}),
    keys,
    tenants,
    sink: output.sink,
    keyPrefix: config.keyPrefix,
    ...(output.rules.active ? { rules: output.rules } : {}),
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
    logBatches: config.verbose,
  });

  const reloadParts: ReloadPart[] = [
    ...(store ? [keyStorePart(keys, store.description)] : []),
    ...(tls ? [certificatePart(gateway, tlsPaths, certificateSummary(tls.cert))] : []),
    ...output.reloadParts,
  ];
  return {
    reload: createReloader(reloadParts, log),
    stages: [['gateway', gateway], ['self-metrics', observability.reporting], ...output.stages, ['keys', keys], ['stat server', observability.statServer]],
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
