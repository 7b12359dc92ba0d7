import type { FullPolicy } from '../batch/batch.js';
import { ConfigError, type FlagReader } from './validate.js';

export interface ProxyConfig {
  readonly apiKey: string;
  readonly certPath: string;
  readonly consoleOut: boolean;
  readonly gateways: string[];
  readonly listenAddr: string;
  readonly metricsFlushMs: number;
  readonly queueCap: number;
  readonly queueMaxBytes: number;
  readonly whenFull: FullPolicy;
  readonly statAddr: string;
  readonly verbose: boolean;
  readonly workers: number;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  readonly timeoutMs: number;
  readonly maxRetryDelayMs: number;
  readonly deadLetterPath: string;
  readonly spoolDir: string;
  readonly spoolMaxBytes: number;
  readonly shutdownTimeoutMs: number;
  readonly maxConnections: number;
  readonly idleTimeoutMs: number;
}

export function readProxyConfig(f: FlagReader): ProxyConfig {
  const consoleOut = f.bool('console-out');
  const gateways = f.list('gateway');
  const apiKey = f.string('api-key');
  if (!consoleOut) {
    if (gateways.length === 0) throw new ConfigError('no gateway: give -gateway https://host[:port] (or -console-out)');
    for (const g of gateways) {
      let url: URL;
      try {
        url = new URL(g);
      } catch {
        throw new ConfigError(`-gateway "${g}" is not a URL (expected https://host[:port])`);
      }
      if (url.protocol !== 'https:' && url.protocol !== 'http:') {
        throw new ConfigError(`-gateway "${g}" must be an http:// or https:// URL`);
      }
    }
    if (apiKey === '') throw new ConfigError('no API key: give -api-key KEY (see polymur-keys create NAME)');
  }
  return {
    apiKey,
    certPath: f.string('cert'),
    consoleOut,
    gateways,
    listenAddr: f.hostPort('listen-addr'),
    metricsFlushMs: f.int('metrics-flush', 0) * 1000,
    queueCap: f.int('queue-cap', 1),
    queueMaxBytes: f.int('queue-max-bytes', 1),
    whenFull: f.oneOf('when-full', ['block', 'drop'] as const),
    statAddr: f.hostPort('stat-addr'),
    verbose: f.bool('verbose'),
    workers: f.int('workers', 1),
    batchSize: f.int('batch-size', 1),
    flushIntervalMs: f.positiveMs('flush-interval'),
    timeoutMs: f.positiveMs('timeout'),
    maxRetryDelayMs: f.positiveMs('max-retry-delay'),
    deadLetterPath: f.string('dead-letter'),
    spoolDir: f.string('spool-dir'),
    spoolMaxBytes: f.int('spool-max-bytes', 1),
    shutdownTimeoutMs: f.ms('shutdown-timeout'),
    maxConnections: f.int('max-connections', 1),
    idleTimeoutMs: f.ms('idle-timeout'),
  };
}
