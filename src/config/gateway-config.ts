import { join } from 'node:path';
import { createTrustedProxies, TrustedProxiesError } from '../net/trusted-proxies.js';
import { TLS_VERSIONS, type TlsVersion } from '../net/tls-policy.js';
import { readRoutingConfig, type RoutingConfig } from './routing-config.js';
import { stateDirGiven, stateKeyStore } from './state-dir.js';
import { readKeyStoreAccess } from './key-store-access.js';
import { KEY_COPY_FILE } from '../keys/last-known-good.js';
import type { EtcdAccess } from '../keys/etcd-access.js';
import type { GATEWAY_FLAGS } from './programs.js';
import { ConfigError, type FlagReader, type FlagsOf } from './validate.js';
import { STREAM_AFTER_BYTES as STREAMING_BODY_BYTES } from '../gateway/body.js';

export interface GatewayConfig extends RoutingConfig {
  readonly listenAddr: string;
  /** Undefined: no such listener. */
  readonly httpPort: number | undefined;
  readonly httpsPort: number | undefined;
  readonly certPath: string;
  readonly keyPath: string;
  readonly devMode: boolean;
  readonly keyPrefix: boolean;
  /** A file store's relative path is resolved against -state-dir. */
  readonly keyStore: string;
  /** TLS and auth of an etcd key store. */
  readonly keyStoreAccess: EtcdAccess;
  /** Where a remote store's (etcd, Consul) last-known-good copy is kept; undefined without a state directory or for a file store. */
  readonly keyCopyPath: string | undefined;
  /** 0: the keys are read at start and on SIGHUP only. */
  readonly keyRefreshMs: number;
  readonly maxBatchBytes: number;
  readonly maxBodyBytes: number;
  readonly maxInflightBytes: number;
  readonly readHeaderTimeoutMs: number;
  readonly readTimeoutMs: number;
  readonly maxConnections: number;
  readonly maxConnectionsPerIp: number;
  /** CIDRs whose X-Forwarded-For is believed. */
  readonly trustedProxies: readonly string[];
  readonly tlsMinVersion: TlsVersion;
  /** Empty: no client certificates asked for. */
  readonly clientCaPath: string;
  /** A log line per accepted batch. */
  readonly verbose: boolean;
  /** Key names with their own per-key series; the rest are summed under key="other". */
  readonly maxTenantSeries: number;
}

/** A port flag (its range checked when parsed); empty: no such listener. */
function port(f: FlagReader<FlagsOf<typeof GATEWAY_FLAGS>>, name: 'listen-http-port' | 'listen-https-port'): number | undefined {
  const text = f.string(name);
  return text === '' ? undefined : Number(text);
}

export function readGatewayConfig(f: FlagReader<FlagsOf<typeof GATEWAY_FLAGS>>): GatewayConfig {
  const certPath = f.string('cert');
  const keyPath = f.string('key');
  if ((certPath === '') !== (keyPath === '')) {
    throw new ConfigError('HTTPS needs both -cert and -key (got only one of them)');
  }
  const tls = certPath !== '';
  const explicitHttp = port(f, 'listen-http-port');
  const explicitHttps = port(f, 'listen-https-port');
  if (explicitHttps !== undefined && !tls) throw new ConfigError('-listen-https-port needs -cert and -key');
  const clientCaPath = f.string('client-ca');
  if (clientCaPath !== '' && !tls) throw new ConfigError('-client-ca needs HTTPS: give -cert and -key');
  if (clientCaPath !== '' && explicitHttp !== undefined) {
    throw new ConfigError('-client-ca with -listen-http-port: plain HTTP cannot ask for client certificates');
  }
  const trustedProxies = f.list('trusted-proxies');
  try {
    createTrustedProxies(trustedProxies);
  } catch (err) {
    if (err instanceof TrustedProxiesError) throw new ConfigError(`-trusted-proxies: ${err.message}`);
    throw err;
  }
  const maxBatchBytes = f.int('max-batch-bytes');
  const maxInflightBytes = f.int('max-inflight-bytes');
  // A batch inflating as it streams holds room for a whole batch plus the compressed MiB read before it.
  if (maxInflightBytes < maxBatchBytes + STREAMING_BODY_BYTES) {
    throw new ConfigError(`-max-inflight-bytes must be at least -max-batch-bytes + ${STREAMING_BODY_BYTES} (${maxBatchBytes + STREAMING_BODY_BYTES}), got ${maxInflightBytes}`);
  }
  const routing = readRoutingConfig(f);
  const keyStore = stateKeyStore(routing.stateDir, f.string('key-store'));
  const remoteStore = !keyStore.startsWith('file:');
  const keyRefreshMs = f.ms('key-refresh');
  return {
    ...routing,
    listenAddr: f.host('listen-addr'),
    // HTTPS whenever TLS is configured; plain HTTP when asked for, or as the only listener without TLS.
    httpsPort: tls ? (explicitHttps ?? 443) : undefined,
    httpPort: explicitHttp ?? (tls ? undefined : 80),
    certPath,
    keyPath,
    devMode: f.bool('dev-mode'),
    keyPrefix: f.bool('key-prefix'),
    keyStore,
    keyStoreAccess: readKeyStoreAccess(f, keyStore),
    keyCopyPath: remoteStore && stateDirGiven(f.string('state-dir')) ? join(routing.stateDir, KEY_COPY_FILE) : undefined,
    keyRefreshMs,
    maxBatchBytes,
    maxBodyBytes: f.int('max-body-bytes'),
    maxInflightBytes,
    readHeaderTimeoutMs: f.ms('read-header-timeout'),
    readTimeoutMs: f.ms('read-timeout'),
    maxConnections: f.int('max-connections'),
    maxConnectionsPerIp: f.int('max-connections-per-ip'),
    trustedProxies,
    tlsMinVersion: f.oneOf('tls-min-version', Object.keys(TLS_VERSIONS) as TlsVersion[]),
    clientCaPath,
    verbose: f.bool('verbose'),
    maxTenantSeries: f.int('max-tenant-series'),
  };
}
