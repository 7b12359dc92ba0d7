// The flag table of each program: the original's names, types and defaults first, then ours.
//
// One entry a flag, an object literal:
//   { name: 'flush-interval', type: 'duration', default: '1s', range: 'positive', usage: 'Longest wait …' },
// - name: as on the command line, without the dash (the environment variable is derived from it);
// - type: 'string' | 'int' | 'bool' | 'duration'; default: as Go prints it ('1s' for a duration);
// - range: required on int and duration flags, optional on a string port: 'positive' (an int 1 or
//   more, a duration more than 0), 'non-negative' (0 allowed, usually "off"), 'port' (0-65535), or
//   { min, max } in the flag's unit (ms for durations). Checked once when the flags are parsed: out
//   of range exits 2 naming the flag (flags.ts);
// - usage: the -h text and the README's (scripts/flag-tables.mjs prints the README tables).
// A flag shared by programs is a const here (`… as const satisfies FlagSpec`); the tables end with
// `as const satisfies readonly FlagSpec[]`, so that each program's reader (validate.ts FlagReader)
// knows every name and type: reading a misspelt flag, or an int as a duration, does not compile.
import type { FlagSpec } from './flags.js';
import { STATE_DIR_USAGE } from './state-dir.js';
import { KEY_STORE_ACCESS_FLAGS, KEY_STORE_USAGE } from './key-store-access.js';
import { DEFAULT_NAME_CACHE_NAMES } from '../route/name-cache.js';

const MiB = 1024 * 1024;

const statAddr = { name: 'stat-addr', type: 'string', default: 'localhost:2020', usage: 'runstats listen address' } as const satisfies FlagSpec;
const statusToken = {
  name: 'status-token',
  type: 'string',
  default: '',
  usage:
    'Token the status page (GET / and /status.json on -stat-addr) requires: Authorization: Bearer TOKEN, or /login?token=TOKEN (empty: none, and the page is served only on a loopback -stat-addr)',
} as const satisfies FlagSpec;
const apiAddr = { name: 'api-addr', type: 'string', default: 'localhost:2030', usage: 'API listen address' } as const satisfies FlagSpec;
const consoleOut = { name: 'console-out', type: 'bool', default: false, usage: 'Dump output to console' } as const satisfies FlagSpec;
const metricsFlush = {
  name: 'metrics-flush',
  type: 'int',
  default: 0,
  range: 'non-negative',
  usage: 'Graphite flush interval for runtime metrics (0 is disabled)',
} as const satisfies FlagSpec;
export const logFormat = {
  name: 'log-format',
  type: 'string',
  default: 'text',
  usage: "Log lines as text (the original's Go log format) or json (one object per line)",
} as const satisfies FlagSpec;
const shutdownTimeout = {
  name: 'shutdown-timeout',
  type: 'duration',
  default: '10s',
  range: 'non-negative',
  usage: 'On SIGINT/SIGTERM, how long to keep delivering what is queued; the process exits within this plus one second, whatever is blocked',
} as const satisfies FlagSpec;
const spoolDir = {
  name: 'spool-dir',
  type: 'string',
  default: '',
  usage: 'Directory for the on-disk queue (empty: queue in memory only)',
} as const satisfies FlagSpec;
const spoolMaxBytes = {
  name: 'spool-max-bytes',
  type: 'int',
  default: 10 * 1024 * MiB,
  range: 'positive',
  usage: 'Largest size of the on-disk queue in bytes',
} as const satisfies FlagSpec;
const spoolFsync = {
  name: 'spool-fsync',
  type: 'string',
  default: 'interval',
  usage: 'When spool writes are flushed to the disk: always (every append), interval (every second) or never (left to the OS)',
} as const satisfies FlagSpec;
export const stateDir = { name: 'state-dir', type: 'string', default: '', usage: STATE_DIR_USAGE } as const satisfies FlagSpec;
const maxConnections = {
  name: 'max-connections',
  type: 'int',
  default: 4096,
  range: 'positive',
  usage: 'Most concurrent client connections accepted',
} as const satisfies FlagSpec;
const maxConnectionsPerIp = {
  name: 'max-connections-per-ip',
  type: 'int',
  default: 256,
  range: 'non-negative',
  usage: 'Most concurrent connections from one client address (0 is no limit)',
} as const satisfies FlagSpec;
const idleTimeout = {
  name: 'idle-timeout',
  type: 'duration',
  default: '5m',
  range: 'non-negative',
  usage: 'Close a client connection that sent nothing for this long (0 is never)',
} as const satisfies FlagSpec;

/** The inputs besides plaintext TCP, on the programs that take Graphite from clients (the proxy and the relay). */
export const INPUT_FLAGS = [
  {
    name: 'listen-udp',
    type: 'string',
    default: '',
    usage: "Graphite plaintext UDP listen address, one or more lines a datagram, as carbon's UDP receiver takes them (empty: off)",
  },
  {
    name: 'udp-receive-buffer',
    type: 'int',
    default: 16 * MiB,
    range: 'positive',
    usage: 'UDP socket receive buffer asked of the kernel in bytes (net.core.rmem_max caps it; the start line says what was given)',
  },
  {
    name: 'listen-pickle',
    type: 'string',
    default: '',
    usage: "carbon pickle protocol listen address, as carbon's PICKLE_RECEIVER_PORT: what carbon-relay and carbon-aggregator send (empty: off)",
  },
  {
    name: 'max-pickle-bytes',
    type: 'int',
    default: MiB,
    range: 'positive',
    usage: "Largest pickle frame in bytes (carbon's PICKLE_RECEIVER_MAX_LENGTH); a longer one closes the connection, unread",
  },
] as const satisfies readonly FlagSpec[];

/** carbon's rule files, as carbon reads them (src/rules/). */
export const RULE_FLAGS = [
  {
    name: 'rewrite-rules',
    type: 'string',
    default: '',
    usage: "carbon's rewrite-rules.conf: [pre] and [post] sections of 'regex = replacement' lines (Python re), re-read on SIGHUP and on change",
  },
  { name: 'blacklist', type: 'string', default: '', usage: "carbon's blacklist.conf: one regex a line, matching names are dropped (counted)" },
  { name: 'whitelist', type: 'string', default: '', usage: "carbon's whitelist.conf: one regex a line, names matching none are dropped (counted); an empty file lets all through" },
  {
    name: 'tag-normalize',
    type: 'bool',
    default: false,
    usage: "Put tagged names (name;tag=value;...) in carbon's canonical tag order before the rules and hashing (carbon-relay's TAG_RELAY_NORMALIZED)",
  },
  { name: 'rule-cache-names', type: 'int', default: 200_000, range: { min: 2 }, usage: 'Distinct metric names whose rule verdict is kept, so the rules run once per name' },
] as const satisfies readonly FlagSpec[];

/** Flags shared by the two programs that route to destinations (the gateway and the relay). */
export const ROUTING_FLAGS = [
  apiAddr,
  {
    name: 'api-token',
    type: 'string',
    default: '',
    usage: 'Token the API requires: Authorization: Bearer TOKEN, or the text command auth TOKEN COMMAND (empty: none)',
  },
  consoleOut,
  { name: 'destinations', type: 'string', default: '', usage: 'Comma-delimited list of ip:port destinations' },
  {
    name: 'destinations-file',
    type: 'string',
    default: '',
    usage: 'File of destinations, one host:port[:instance] a line (# comments), re-read on SIGHUP; instead of -destinations',
  },
  { name: 'distribution', type: 'string', default: 'broadcast', usage: 'Destination distribution methods: broadcast, hash-route' },
  {
    name: 'incoming-queue-cap',
    type: 'int',
    default: 32768,
    range: 'positive',
    usage: 'No effect; accepted for compatibility (batches go straight to the per-destination queues, see -outgoing-queue-cap)',
  },
  {
    name: 'outgoing-queue-cap',
    type: 'int',
    default: 4096,
    range: 'positive',
    usage: 'In-flight message queue capacity per destination (number of data points)',
  },
  { name: 'hash-type', type: 'string', default: 'carbon_ch', usage: 'Consistent hash for hash-route: carbon_ch, fnv1a_ch' },
  { name: 'replication-factor', type: 'int', default: 1, range: 'positive', usage: 'Destinations each data point goes to with hash-route' },
  {
    name: 'route-cache-names',
    type: 'int',
    default: DEFAULT_NAME_CACHE_NAMES,
    range: 'non-negative',
    usage: 'Metric names whose hash-route (carbon_ch) destination is cached, so a name seen again is not hashed again (some 80 bytes each at most; 0: no cache)',
  },
  metricsFlush,
  logFormat,
  statAddr,
  statusToken,
  spoolDir,
  spoolMaxBytes,
  spoolFsync,
  stateDir,
  shutdownTimeout,
  {
    name: 'when-full',
    type: 'string',
    default: 'block',
    usage: "When a destination queue is full: block (refuse the batch: 503 to proxies, relay stops reading) or drop (that destination's copy, counted)",
  },
  {
    name: 'write-timeout',
    type: 'duration',
    default: '10s',
    range: 'non-negative',
    usage: 'A destination that accepts no byte for this long while data waits, or acknowledges none of what its socket holds, is marked down (0 is never)',
  },
  {
    name: 'resend-window',
    type: 'duration',
    default: '1s',
    range: 'non-negative',
    usage: 'Whether a destination connection that dies or stops reading gets written again what it may not have read (0 is off: no duplicates; any other value is on)',
  },
  {
    name: 'resend-window-bytes',
    type: 'int',
    default: 64 * MiB,
    range: 'non-negative',
    usage: 'Most memory per destination for the resend window, which keeps what the connection may hold unread (its socket buffers at their largest)',
  },
  {
    name: 'max-unread-bytes',
    type: 'int',
    default: 8 * MiB,
    range: 'non-negative',
    usage:
      'Most bytes a connection to a destination on this host may hold that its process has not read: beyond, the writer waits for it (0 is no bound: the socket buffers at their largest)',
  },
  ...RULE_FLAGS,
] as const satisfies readonly FlagSpec[];

export const PROXY_FLAGS = [
  { name: 'api-key', type: 'string', default: '', usage: 'polymur gateway API key' },
  { name: 'api-key-file', type: 'string', default: '', usage: 'File holding the gateway API key (mode 0600), instead of -api-key' },
  { name: 'cert', type: 'string', default: '', usage: 'TLS Certificate' },
  consoleOut,
  { name: 'gateway', type: 'string', default: '', usage: 'polymur gateway address (comma-separated list: failover in order)' },
  { name: 'listen-addr', type: 'string', default: '0.0.0.0:2003', usage: 'Polymur-proxy listen address' },
  metricsFlush,
  logFormat,
  { name: 'queue-cap', type: 'int', default: 32768, range: 'positive', usage: 'In-flight message queue capacity' },
  statAddr,
  statusToken,
  { name: 'verbose', type: 'bool', default: true, usage: 'Verbose logging' },
  { name: 'workers', type: 'int', default: 3, range: 'positive', usage: 'HTTP output workers' },
  { name: 'batch-size', type: 'int', default: 5000, range: 'positive', usage: 'Data points per batch sent to the gateway' },
  { name: 'flush-interval', type: 'duration', default: '1s', range: 'positive', usage: 'Longest wait before a batch that is not full is sent' },
  { name: 'timeout', type: 'duration', default: '30s', range: 'positive', usage: 'Timeout of every request to the gateway' },
  {
    name: 'http-proxy',
    type: 'string',
    default: '',
    usage: 'Forward proxy to reach the gateways through (CONNECT tunnel, TLS end to end): http://[user:pass@]host:port, none (direct), or empty: HTTPS_PROXY/HTTP_PROXY/NO_PROXY',
  },
  { name: 'dead-letter', type: 'string', default: 'polymur-dead-letter.log', usage: 'File that keeps batches the gateway rejects as malformed or too large' },
  {
    name: 'dead-letter-max-bytes',
    type: 'int',
    default: 64 * MiB,
    range: 'positive',
    usage: 'Largest size of the dead-letter file in bytes; past it the file becomes PATH.1, replacing the older one',
  },
  { name: 'max-retry-delay', type: 'duration', default: '30s', range: 'positive', usage: 'Longest wait between two attempts to send a batch' },
  {
    name: 'queue-max-bytes',
    type: 'int',
    default: 64 * MiB,
    range: 'positive',
    usage: 'Largest size of the in-flight queue in bytes (batches are held gzipped, about 15 bytes a data point)',
  },
  { name: 'when-full', type: 'string', default: 'block', usage: 'When the queue is full: block (stop reading clients) or drop' },
  spoolDir,
  spoolMaxBytes,
  spoolFsync,
  stateDir,
  shutdownTimeout,
  maxConnections,
  maxConnectionsPerIp,
  idleTimeout,
  ...INPUT_FLAGS,
] as const satisfies readonly FlagSpec[];

export const GATEWAY_FLAGS = [
  { name: 'listen-addr', type: 'string', default: '0.0.0.0', usage: 'Polymur-gateway listen address' },
  { name: 'listen-http-port', type: 'string', default: '', range: 'port', usage: 'Polymur-gateway listen port (http)' },
  { name: 'listen-https-port', type: 'string', default: '', range: 'port', usage: 'Polymur-gateway listen port (https)' },
  { name: 'cert', type: 'string', default: '', usage: 'TLS Certificate' },
  { name: 'key', type: 'string', default: '', usage: 'TLS Key' },
  { name: 'dev-mode', type: 'bool', default: false, usage: "Dev mode: disables the API key store; uses '123'" },
  {
    name: 'key-prefix',
    type: 'bool',
    default: false,
    usage: "If enabled, prepends all metrics with the origin polymur-proxy API key's name",
  },
  { name: 'key-store', type: 'string', default: 'file:polymur-keys.json', usage: KEY_STORE_USAGE },
  ...KEY_STORE_ACCESS_FLAGS,
  {
    name: 'key-refresh',
    type: 'duration',
    default: '30s',
    range: 'non-negative',
    usage: 'How often the key store is re-read, besides watching it for changes and on SIGHUP (0: only at start and on SIGHUP, no watching)',
  },
  { name: 'max-batch-bytes', type: 'int', default: 64 * MiB, range: 'positive', usage: 'Largest decompressed size of one batch in bytes' },
  { name: 'max-body-bytes', type: 'int', default: 32 * MiB, range: 'positive', usage: 'Largest compressed size of one request body in bytes' },
  {
    name: 'max-inflight-bytes',
    type: 'int',
    default: 256 * MiB,
    range: 'positive',
    usage: 'Memory all requests together may hold while their bodies are read, inflated and validated, in bytes; over it a request waits briefly, then gets 503',
  },
  { name: 'read-header-timeout', type: 'duration', default: '10s', range: 'positive', usage: 'Longest time a client may take to send the request headers' },
  { name: 'read-timeout', type: 'duration', default: '60s', range: 'positive', usage: 'Longest time a client may take to send a whole request, body included' },
  maxConnections,
  maxConnectionsPerIp,
  {
    name: 'trusted-proxies',
    type: 'string',
    default: '',
    usage: 'Comma-delimited CIDRs of load balancers whose X-Forwarded-For is believed (empty: none)',
  },
  { name: 'tls-min-version', type: 'string', default: '1.2', usage: 'Oldest TLS version accepted: 1.2 or 1.3' },
  { name: 'client-ca', type: 'string', default: '', usage: 'CA certificate file: clients must present a certificate it signed (mTLS; the API key is still required)' },
  {
    name: 'max-tenant-series',
    type: 'int',
    default: 10_000,
    range: 'non-negative',
    usage: 'Key names with their own per-key metrics series and /tenants.json entry; the rest are summed under key="other"',
  },
  { name: 'verbose', type: 'bool', default: false, usage: "Log a line per batch received ('[client X] Recieved batch from from NAME'), as the original always did" },
  ...ROUTING_FLAGS,
] as const satisfies readonly FlagSpec[];

export const RELAY_FLAGS = [
  { name: 'listen-addr', type: 'string', default: '0.0.0.0:2003', usage: 'Polymur listen address' },
  { name: 'batch-size', type: 'int', default: 5000, range: 'positive', usage: 'Data points per batch handed to the destinations' },
  { name: 'flush-interval', type: 'duration', default: '100ms', range: 'positive', usage: 'Longest wait before a batch that is not full is routed' },
  maxConnections,
  maxConnectionsPerIp,
  idleTimeout,
  ...INPUT_FLAGS,
  ...ROUTING_FLAGS,
] as const satisfies readonly FlagSpec[];
