import type { FullPolicy } from '../batch/batch.js';
import { deadLetterProblem } from '../forward/dead-letter.js';
import { chooseEgressProxy, EgressProxyError, type EgressChoice } from '../forward/egress-proxy.js';
import { readApiKey } from './api-key-file.js';
import { readInputsConfig, type InputsConfig } from './inputs-config.js';
import { resolveStateDir, statePath } from './state-dir.js';
import type { PROXY_FLAGS } from './programs.js';
import { ConfigError, type FlagReader, type FlagsOf } from './validate.js';

export interface ProxyConfig extends InputsConfig {
  readonly apiKey: string;
  /** Where the key was read from ('' when it came from -api-key). */
  readonly apiKeyFile: string;
  readonly certPath: string;
  readonly consoleOut: boolean;
  readonly gateways: readonly string[];
  /** How each gateway is reached: through which forward proxy, or directly, and why. */
  readonly egress: ReadonlyMap<string, EgressChoice>;
  readonly listenAddr: string;
  readonly metricsFlushMs: number;
  readonly queueCap: number;
  readonly queueMaxBytes: number;
  readonly whenFull: FullPolicy;
  readonly statAddr: string;
  readonly statusToken: string;
  readonly verbose: boolean;
  readonly workers: number;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  readonly timeoutMs: number;
  readonly maxRetryDelayMs: number;
  readonly deadLetterPath: string;
  readonly deadLetterMaxBytes: number;
  readonly spoolDir: string;
  /** Absolute: the dead letter and the spool resolve against it when relative. */
  readonly stateDir: string;
  readonly spoolMaxBytes: number;
  readonly spoolFsync: 'always' | 'interval' | 'never';
  readonly shutdownTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly idleTimeoutMs: number;
}

/** Each gateway's forward proxy, from -http-proxy or the environment; a bad proxy URL is a configuration error. */
function readEgress(gateways: readonly string[], flag: string, env: NodeJS.ProcessEnv): Map<string, EgressChoice> {
  try {
    return new Map(gateways.map((g) => [g, chooseEgressProxy(new URL(g), flag, env)]));
  } catch (err) {
    if (err instanceof EgressProxyError) throw new ConfigError(err.message);
    throw err;
  }
}

export function readProxyConfig(f: FlagReader<FlagsOf<typeof PROXY_FLAGS>>, env: NodeJS.ProcessEnv = process.env): ProxyConfig {
  const consoleOut = f.bool('console-out');
  const gateways = f.list('gateway');
  const apiKeyFile = f.string('api-key-file');
  if (apiKeyFile !== '' && f.string('api-key') !== '') throw new ConfigError('give -api-key or -api-key-file, not both');
  const apiKey = apiKeyFile !== '' && !consoleOut ? readApiKey(apiKeyFile) : f.string('api-key');
  const stateDir = resolveStateDir(f.string('state-dir'));
  const deadLetterPath = statePath(stateDir, f.string('dead-letter'));
  let egress = new Map<string, EgressChoice>();
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
    if (apiKey === '') throw new ConfigError('no API key: give -api-key-file PATH or -api-key KEY (see polymur-keys create NAME)');
    egress = readEgress(gateways, f.string('http-proxy'), env);
    const problem = deadLetterProblem(deadLetterPath);
    if (problem !== undefined) throw new ConfigError(`-dead-letter: ${deadLetterPath}: ${problem}`);
  }
  return {
    apiKey,
    apiKeyFile,
    certPath: f.string('cert'),
    consoleOut,
    gateways,
    egress,
    listenAddr: f.hostPort('listen-addr'),
    metricsFlushMs: f.int('metrics-flush') * 1000,
    queueCap: f.int('queue-cap'),
    queueMaxBytes: f.int('queue-max-bytes'),
    whenFull: f.oneOf('when-full', ['block', 'drop'] as const),
    statAddr: f.hostPort('stat-addr'),
    statusToken: f.string('status-token'),
    verbose: f.bool('verbose'),
    workers: f.int('workers'),
    batchSize: f.int('batch-size'),
    flushIntervalMs: f.ms('flush-interval'),
    timeoutMs: f.ms('timeout'),
    maxRetryDelayMs: f.ms('max-retry-delay'),
    deadLetterPath,
    deadLetterMaxBytes: f.int('dead-letter-max-bytes'),
    spoolDir: statePath(stateDir, f.string('spool-dir')),
    stateDir,
    spoolMaxBytes: f.int('spool-max-bytes'),
    spoolFsync: f.oneOf('spool-fsync', ['always', 'interval', 'never'] as const),
    shutdownTimeoutMs: f.ms('shutdown-timeout'),
    maxConnections: f.int('max-connections'),
    maxConnectionsPerIp: f.int('max-connections-per-ip'),
    idleTimeoutMs: f.ms('idle-timeout'),
    ...readInputsConfig(f),
  };
}

/** Loopback names and addresses, where plain http:// never leaves the machine. */
function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** A warning for each -gateway that is plain http:// to another host: the key and the data travel in clear. */
export function plainHttpWarnings(gateways: readonly string[]): string[] {
  return gateways
    .filter((g) => {
      const url = new URL(g);
      return url.protocol === 'http:' && !isLoopback(url.hostname);
    })
    .map((g) => `WARNING: -gateway ${g} is plain http:// to a host that is not loopback: the API key and the metrics cross the network unencrypted; use https://`);
}
