// The flag table of each program: the original's names, types and defaults first, then ours.
import type { FlagSpec } from './flags.js';
import { STATE_DIR_USAGE } from './state-dir.js';

const MiB = 1024 * 1024;

const statAddr: FlagSpec = { name: 'stat-addr', type: 'string', default: 'localhost:2020', usage: 'runstats listen address' };
const apiAddr: FlagSpec = { name: 'api-addr', type: 'string', default: 'localhost:2030', usage: 'API listen address' };
const consoleOut: FlagSpec = { name: 'console-out', type: 'bool', default: false, usage: 'Dump output to console' };
const metricsFlush: FlagSpec = {
  name: 'metrics-flush', type: 'int', default: 0,
  usage: 'Graphite flush interval for runtime metrics (0 is disabled)',
};
const logFormat: FlagSpec = {
  name: 'log-format', type: 'string', default: 'text',
  usage: 'Log lines as text (the original\'s Go log format) or json (one object per line)',
};
const shutdownTimeout: FlagSpec = {
  name: 'shutdown-timeout', type: 'duration', default: '10s',
  usage: 'On SIGINT/SIGTERM, how long to keep delivering what is queued; the process exits within this plus one second, whatever is blocked',
};
const spoolDir: FlagSpec = {
  name: 'spool-dir', type: 'string', default: '',
  usage: 'Directory for the on-disk queue (empty: queue in memory only)',
};
const spoolMaxBytes: FlagSpec = {
  name: 'spool-max-bytes', type: 'int', default: 10 * 1024 * MiB,
  usage: 'Largest size of the on-disk queue in bytes',
};
const spoolFsync: FlagSpec = {
  name: 'spool-fsync', type: 'string', default: 'interval',
  usage: 'When spool writes are flushed to the disk: always (every append), interval (every second) or never (left to the OS)',
};
export const stateDir: FlagSpec = { name: 'state-dir', type: 'string', default: '', usage: STATE_DIR_USAGE };
const maxConnections: FlagSpec = {
  name: 'max-connections', type: 'int', default: 4096,
  usage: 'Most concurrent client connections accepted',
};
const maxConnectionsPerIp: FlagSpec = {
  name: 'max-connections-per-ip', type: 'int', default: 256,
  usage: 'Most concurrent connections from one client address (0 is no limit)',
};
const idleTimeout: FlagSpec = {
  name: 'idle-timeout', type: 'duration', default: '5m',
  usage: 'Close a client connection that sent nothing for this long (0 is never)',
};

/** carbon's rule files, as carbon reads them (src/rules/). */
const ruleFlags: FlagSpec[] = [
  {
    name: 'rewrite-rules', type: 'string', default: '',
    usage: "carbon's rewrite-rules.conf: [pre] and [post] sections of 'regex = replacement' lines (Python re), re-read on SIGHUP and on change",
  },
  { name: 'blacklist', type: 'string', default: '', usage: "carbon's blacklist.conf: one regex a line, matching names are dropped (counted)" },
  { name: 'whitelist', type: 'string', default: '', usage: "carbon's whitelist.conf: one regex a line, names matching none are dropped (counted); an empty file lets all through" },
  {
    name: 'tag-normalize', type: 'bool', default: false,
    usage: "Put tagged names (name;tag=value;...) in carbon's canonical tag order before the rules and hashing (carbon-relay's TAG_RELAY_NORMALIZED)",
  },
  { name: 'rule-cache-names', type: 'int', default: 200_000, usage: 'Distinct metric names whose rule verdict is kept, so the rules run once per name' },
];

/** Flags shared by the two programs that route to destinations (the gateway and the relay). */
const routing: FlagSpec[] = [
  apiAddr,
  {
    name: 'api-token', type: 'string', default: '',
    usage: 'Token the API requires: Authorization: Bearer TOKEN, or the text command auth TOKEN COMMAND (empty: none)',
  },
  consoleOut,
  { name: 'destinations', type: 'string', default: '', usage: 'Comma-delimited list of ip:port destinations' },
  {
    name: 'destinations-file', type: 'string', default: '',
    usage: 'File of destinations, one host:port[:instance] a line (# comments), re-read on SIGHUP; instead of -destinations',
  },
  { name: 'distribution', type: 'string', default: 'broadcast', usage: 'Destination distribution methods: broadcast, hash-route' },
  {
    name: 'incoming-queue-cap', type: 'int', default: 32768,
    usage: 'No effect; accepted for compatibility (batches go straight to the per-destination queues, see -outgoing-queue-cap)',
  },
  {
    name: 'outgoing-queue-cap', type: 'int', default: 4096,
    usage: 'In-flight message queue capacity per destination (number of data points)',
  },
  { name: 'hash-type', type: 'string', default: 'carbon_ch', usage: 'Consistent hash for hash-route: carbon_ch, fnv1a_ch' },
  { name: 'replication-factor', type: 'int', default: 1, usage: 'Destinations each data point goes to with hash-route' },
  metricsFlush,
  logFormat,
  statAddr,
  spoolDir,
  spoolMaxBytes,
  spoolFsync,
  stateDir,
  shutdownTimeout,
  {
    name: 'when-full', type: 'string', default: 'block',
    usage: 'When a destination queue is full: block (refuse the batch: 503 to proxies, relay stops reading) or drop (that destination\'s copy, counted)',
  },
  {
    name: 'write-timeout', type: 'duration', default: '10s',
    usage: 'A destination that accepts no byte for this long while data waits is marked down (0 is never)',
  },
  {
    name: 'resend-window', type: 'duration', default: '1s',
    usage: 'After a destination connection dies, write again what was written in this last stretch (0 is off: no duplicates)',
  },
  { name: 'resend-window-bytes', type: 'int', default: 4 * MiB, usage: 'Most bytes per destination the resend window keeps' },
  ...ruleFlags,
];

export const PROXY_FLAGS: readonly FlagSpec[] = [
  { name: 'api-key', type: 'string', default: '', usage: 'polymur gateway API key' },
  { name: 'api-key-file', type: 'string', default: '', usage: 'File holding the gateway API key (mode 0600), instead of -api-key' },
  { name: 'cert', type: 'string', default: '', usage: 'TLS Certificate' },
  consoleOut,
  { name: 'gateway', type: 'string', default: '', usage: 'polymur gateway address (comma-separated list: failover in order)' },
  { name: 'listen-addr', type: 'string', default: '0.0.0.0:2003', usage: 'Polymur-proxy listen address' },
  metricsFlush,
  logFormat,
  { name: 'queue-cap', type: 'int', default: 32768, usage: 'In-flight message queue capacity' },
  statAddr,
  { name: 'verbose', type: 'bool', default: true, usage: 'Verbose logging' },
  { name: 'workers', type: 'int', default: 3, usage: 'HTTP output workers' },
  { name: 'batch-size', type: 'int', default: 5000, usage: 'Data points per batch sent to the gateway' },
  { name: 'flush-interval', type: 'duration', default: '1s', usage: 'Longest wait before a batch that is not full is sent' },
  { name: 'timeout', type: 'duration', default: '30s', usage: 'Timeout of every request to the gateway' },
  {
    name: 'http-proxy', type: 'string', default: '',
    usage: 'Forward proxy to reach the gateways through (CONNECT tunnel, TLS end to end): http://[user:pass@]host:port, none (direct), or empty: HTTPS_PROXY/HTTP_PROXY/NO_PROXY',
  },
  { name: 'dead-letter', type: 'string', default: 'polymur-dead-letter.log', usage: 'File that keeps batches the gateway rejects as malformed or too large' },
  { name: 'dead-letter-max-bytes', type: 'int', default: 64 * MiB, usage: 'Largest size of the dead-letter file in bytes; past it the file becomes PATH.1, replacing the older one' },
  { name: 'max-retry-delay', type: 'duration', default: '30s', usage: 'Longest wait between two attempts to send a batch' },
  { name: 'queue-max-bytes', type: 'int', default: 64 * MiB, usage: 'Largest size of the in-flight queue in bytes (batches are held gzipped, about 15 bytes a data point)' },
  { name: 'when-full', type: 'string', default: 'block', usage: 'When the queue is full: block (stop reading clients) or drop' },
  spoolDir,
  spoolMaxBytes,
  spoolFsync,
  stateDir,
  shutdownTimeout,
  maxConnections,
  maxConnectionsPerIp,
  idleTimeout,
];

export const GATEWAY_FLAGS: readonly FlagSpec[] = [
  { name: 'listen-addr', type: 'string', default: '0.0.0.0', usage: 'Polymur-gateway listen address' },
  { name: 'listen-http-port', type: 'string', default: '', usage: 'Polymur-gateway listen port (http)' },
  { name: 'listen-https-port', type: 'string', default: '', usage: 'Polymur-gateway listen port (https)' },
  { name: 'cert', type: 'string', default: '', usage: 'TLS Certificate' },
  { name: 'key', type: 'string', default: '', usage: 'TLS Key' },
  { name: 'dev-mode', type: 'bool', default: false, usage: "Dev mode: disables the API key store; uses '123'" },
  {
    name: 'key-prefix', type: 'bool', default: false,
    usage: "If enabled, prepends all metrics with the origin polymur-proxy API key's name",
  },
  { name: 'key-store', type: 'string', default: 'file:polymur-keys.json', usage: 'API key store: file:PATH, etcd://HOST:PORT, consul://HOST:PORT, or consul (the agent in CONSUL_HTTP_ADDR)' },
  {
    name: 'key-refresh', type: 'duration', default: '30s',
    usage: 'How often the key store is re-read, besides watching it for changes and on SIGHUP (0: only at start and on SIGHUP, no watching)',
  },
  { name: 'max-batch-bytes', type: 'int', default: 64 * MiB, usage: 'Largest decompressed size of one batch in bytes' },
  { name: 'max-body-bytes', type: 'int', default: 32 * MiB, usage: 'Largest compressed size of one request body in bytes' },
  {
    name: 'max-inflight-bytes', type: 'int', default: 256 * MiB,
    usage: 'Memory all requests together may hold while their bodies are read, inflated and validated, in bytes; over it a request waits briefly, then gets 503',
  },
  { name: 'read-header-timeout', type: 'duration', default: '10s', usage: 'Longest time a client may take to send the request headers' },
  { name: 'read-timeout', type: 'duration', default: '60s', usage: 'Longest time a client may take to send a whole request, body included' },
  maxConnections,
  maxConnectionsPerIp,
  {
    name: 'trusted-proxies', type: 'string', default: '',
    usage: 'Comma-delimited CIDRs of load balancers whose X-Forwarded-For is believed (empty: none)',
  },
  { name: 'tls-min-version', type: 'string', default: '1.2', usage: 'Oldest TLS version accepted: 1.2 or 1.3' },
  { name: 'client-ca', type: 'string', default: '', usage: 'CA certificate file: clients must present a certificate it signed (mTLS; the API key is still required)' },
  { name: 'verbose', type: 'bool', default: false, usage: "Log a line per batch received ('[client X] Recieved batch from from NAME'), as the original always did" },
  ...routing,
];

export const RELAY_FLAGS: readonly FlagSpec[] = [
  { name: 'listen-addr', type: 'string', default: '0.0.0.0:2003', usage: 'Polymur listen address' },
  { name: 'batch-size', type: 'int', default: 5000, usage: 'Data points per batch handed to the destinations' },
  { name: 'flush-interval', type: 'duration', default: '100ms', usage: 'Longest wait before a batch that is not full is routed' },
  maxConnections,
  maxConnectionsPerIp,
  idleTimeout,
  ...routing,
];
