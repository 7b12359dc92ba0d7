import { readInputsConfig, type InputsConfig } from './inputs-config.js';
import { readRoutingConfig, type RoutingConfig } from './routing-config.js';
import type { RELAY_FLAGS } from './programs.js';
import type { FlagReader, FlagsOf } from './validate.js';

export interface RelayConfig extends RoutingConfig, InputsConfig {
  readonly listenAddr: string;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly idleTimeoutMs: number;
}

export function readRelayConfig(f: FlagReader<FlagsOf<typeof RELAY_FLAGS>>): RelayConfig {
  return {
    ...readRoutingConfig(f),
    ...readInputsConfig(f),
    listenAddr: f.hostPort('listen-addr'),
    batchSize: f.int('batch-size'),
    flushIntervalMs: f.ms('flush-interval'),
    maxConnections: f.int('max-connections'),
    maxConnectionsPerIp: f.int('max-connections-per-ip'),
    idleTimeoutMs: f.ms('idle-timeout'),
  };
}
