// The routing settings shared by the gateway and the relay.
import { DestinationError, parseDestinations, type Distribution } from '../route/destination.js';
import { readDestinationsFile } from './destinations-file.js';
import { readRulesConfig, type RulesConfig } from './rules-config.js';
import { resolveStateDir, statePath } from './state-dir.js';
import type { ROUTING_FLAGS } from './programs.js';
import { ConfigError, type FlagReader, type FlagsOf } from './validate.js';

export interface RoutingConfig {
  readonly apiAddr: string;
  /** Empty: the destination API takes no token. */
  readonly apiToken: string;
  readonly statAddr: string;
  readonly statusToken: string;
  readonly consoleOut: boolean;
  /** From -destinations, or from -destinations-file as it read at start. */
  readonly destinations: readonly string[];
  /** Empty: none (the destinations came from -destinations). */
  readonly destinationsFile: string;
  /** Absolute: relative state paths are resolved against it. */
  readonly stateDir: string;
  readonly distribution: 'broadcast' | 'hash-route';
  readonly hashType: 'carbon_ch' | 'fnv1a_ch';
  readonly replicationFactor: number;
  /** -route-cache-names: 0 is no cache. */
  readonly routeCacheNames: number;
  readonly outgoingQueueCap: number;
  readonly metricsFlushMs: number;
  readonly spoolDir: string;
  readonly spoolMaxBytes: number;
  readonly spoolFsync: 'always' | 'interval' | 'never';
  readonly shutdownTimeoutMs: number;
  readonly whenFull: 'block' | 'drop';
  /** 0: never. */
  readonly writeTimeoutMs: number;
  /** 0: off. */
  readonly resendWindowMs: number;
  readonly resendWindowBytes: number;
  /** 0: no bound. */
  readonly maxUnreadBytes: number;
  /** -rewrite-rules, -blacklist, -whitelist, -tag-normalize. */
  readonly rules: RulesConfig;
}

export function readRoutingConfig(f: FlagReader<FlagsOf<typeof ROUTING_FLAGS>>): RoutingConfig {
  const consoleOut = f.bool('console-out');
  const distribution = f.oneOf('distribution', ['broadcast', 'hash-route'] as const);
  const destinationsFile = f.string('destinations-file');
  // One source of truth for the set, so that a line removed from the file removes the destination.
  if (destinationsFile !== '' && f.string('destinations') !== '') throw new ConfigError('give -destinations or -destinations-file, not both');
  const destinations = destinationsFile !== '' && !consoleOut ? readDestinationsFile(destinationsFile, distribution) : f.list('destinations');
  if (!consoleOut && destinations.length === 0) {
    throw new ConfigError(
      destinationsFile !== ''
        ? `-destinations-file: ${destinationsFile} names no destination`
        : 'no destinations: give -destinations ip:port[,ip:port...], -destinations-file PATH or -console-out',
    );
  }
  const replicationFactor = f.int('replication-factor');
  // -incoming-queue-cap is accepted (and its range checked) for the original's command lines; it
  // limits nothing: the listener hands batches straight to the destination queues, whose caps apply.
  if (!consoleOut) {
    const shortfall = replicationShortfall(parseDestinationsFlag(destinations, distribution), distribution, replicationFactor);
    if (shortfall) throw new ConfigError(shortfall);
  }
  const stateDir = resolveStateDir(f.string('state-dir'));
  return {
    apiAddr: f.hostPort('api-addr'),
    apiToken: f.string('api-token'),
    statAddr: f.hostPort('stat-addr'),
    statusToken: f.string('status-token'),
    consoleOut,
    destinations,
    destinationsFile,
    stateDir,
    distribution,
    hashType: f.oneOf('hash-type', ['carbon_ch', 'fnv1a_ch'] as const),
    replicationFactor,
    routeCacheNames: f.int('route-cache-names'),
    outgoingQueueCap: f.int('outgoing-queue-cap'),
    metricsFlushMs: f.int('metrics-flush') * 1000,
    spoolDir: statePath(stateDir, f.string('spool-dir')),
    spoolMaxBytes: f.int('spool-max-bytes'),
    spoolFsync: f.oneOf('spool-fsync', ['always', 'interval', 'never'] as const),
    shutdownTimeoutMs: f.ms('shutdown-timeout'),
    whenFull: f.oneOf('when-full', ['block', 'drop'] as const),
    writeTimeoutMs: f.ms('write-timeout'),
    resendWindowMs: f.ms('resend-window'),
    resendWindowBytes: f.int('resend-window-bytes'),
    maxUnreadBytes: f.int('max-unread-bytes'),
    rules: readRulesConfig(f),
  };
}

/**
 * Why a set of destinations cannot hold -replication-factor copies of a point, or undefined: carbon
 * places the copies on distinct hosts (DIVERSE_REPLICAS). Checked at start and on every reload.
 */
export function replicationShortfall(destinations: readonly { readonly host: string }[], distribution: Distribution, replicationFactor: number): string | undefined {
  if (distribution !== 'hash-route') return undefined;
  const hosts = new Set(destinations.map((d) => d.host)).size;
  return replicationFactor > hosts
    ? `-replication-factor ${replicationFactor} needs destinations on at least as many distinct hosts (got ${hosts}): carbon places each copy on another host`
    : undefined;
}

function parseDestinationsFlag(destinations: string[], distribution: 'broadcast' | 'hash-route'): ReturnType<typeof parseDestinations> {
  try {
    return parseDestinations(destinations.join(','), distribution);
  } catch (err) {
    if (err instanceof DestinationError) throw new ConfigError(`-destinations: ${err.message}`);
    throw err;
  }
}
