import { readInputsConfig, type InputsConfig } from './inputs-config.js';
import { readRoutingConfig, type RoutingConfig } from './routing-config.js';
import type { FlagReader } from './validate.js';

export interface RelayConfig extends RoutingConfig, InputsConfig {
  readonly listenAddr: string;
  readonly batchSize: number;
  readonly flushIntervalMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  readonly idleTimeoutMs: number;
}

export function readRelayConfig(f: FlagReader): RelayConfig {
  return {
    ...readRoutingConfig(f),
    ...readInputsConfig(f),
    listenAddr: f.hostPort('listen-addr'),
    batchSize: f.int('batch-size', 1),
    flushIntervalMs: f.positiveMs('flush-interval'),
    maxConnections: f.int('max-connections', 1),
    maxConnectionsPerIp: f.int('max-connections-per-ip', 0),
    idleTimeoutMs: f.ms('idle-timeout'),
  };
}
