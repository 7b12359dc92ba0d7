// polymur-gateway's HTTP(S) server: /ping and /ingest as the original's wire protocol says. The key
// is checked on every request (authenticate.ts); the gzip body is read up to -max-body-bytes and
// inflated up to -max-batch-bytes (see body.ts: in one pass when small, as it streams in when
// large), so a gzip bomb is never inflated beyond the cap, and all requests together hold at most
// -max-inflight-bytes (inflight-budget.ts); validation yields to other clients (validate-slices.ts).
// A batch is answered 200 only once the destinations' queues took it, and 503 + Retry-After when
// they are full (ingest.ts). The pieces: routes.ts answers a request, listeners.ts accepts
// connections, client-errors.ts the clients too slow to answer, gateway-shutdown.ts stops it.
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BatchSink } from '../batch/batch.js';
import type { RuleFiles } from '../rules/rule-files.js';
import type { Stage } from '../lifecycle/stage.js';
import { createConnectionLimit } from '../net/connection-limit.js';
import { rateLimitedLog } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';
import { socketErrorCounter } from '../observe/socket-errors.js';
import { tlsServerOptions, type GatewayTls } from '../net/tls-policy.js';
import { createTrustedProxies } from '../net/trusted-proxies.js';
import { createAuthenticate, type KeyLookup } from './authenticate.js';
import { createClientErrorHandler, serverTimeouts } from './client-errors.js';
import { createGatewayMetrics } from './gateway-metrics.js';
import { createGatewayShutdown } from './gateway-shutdown.js';
import { createInflightBudget } from './inflight-budget.js';
import { backgroundFullCollector } from '../input/scavenge-pacer.js';
import { createIngest } from './ingest.js';
import { openListeners } from './listeners.js';
import { createReplier } from './reply.js';
import { createRequestTracker } from './request-tracker.js';
import { createRequestHandler } from './routes.js';
import type { TenantGate } from '../tenants/gate.js';

export type { KeyLookup } from './authenticate.js';

/** close(): refuse new requests (503), finish those in flight, then close every connection; destroy(): cut them now. */
export interface Gateway extends Stage {
  readonly http?: AddressInfo;
  readonly https?: AddressInfo;
  /**
   * New handshakes use this certificate and key (and client CA) from now on; connections already
   * open keep theirs. Throws, changing nothing, when node:tls refuses them (a key that does not
   * match the certificate). Without HTTPS there is nothing to change: it throws.
   */
  setTls(tls: GatewayTls): void;
}

export interface GatewayOptions {
  readonly listenAddr: string;
  readonly httpPort?: number;
  readonly httpsPort?: number;
  readonly tls?: GatewayTls;
  readonly keys: KeyLookup;
  /** Per-key accounting, rate, names ceiling and namespace (src/tenants/). */
  readonly tenants: TenantGate;
  readonly sink: BatchSink;
  readonly keyPrefix: boolean;
  /** carbon's rule files, applied to every name (src/rules/). */
  readonly rules?: RuleFiles;
  /** Decompressed bytes per batch. */
  readonly maxBatchBytes: number;
  /** Compressed bytes per request body. */
  readonly maxBodyBytes?: number;
  /** Bytes all /ingest requests together may hold while they are read, inflated and validated. */
  readonly maxInflightBytes?: number;
  /** How long a request waits for room in that budget before it is answered 503. */
  readonly inflightWaitMs?: number;
  readonly headersTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly maxConnections?: number;
  /** Connections one client address may hold at once (trusted proxies excepted); 0: no limit. */
  readonly maxConnectionsPerIp?: number;
  /** CIDRs of load balancers whose X-Forwarded-For names the client. */
  readonly trustedProxies?: readonly string[];
  /** Failed authentications per client address in a minute before its failing attempts get 429. */
  readonly authFailureLimit?: number;
  readonly metrics: Registry;
  readonly log: (m: string) => void;
  readonly onReceived?: (points: number) => void;
  /** -verbose: the original's line per accepted batch. */
  readonly logBatches?: boolean;
}

export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  const budget = createInflightBudget(opts.maxInflightBytes ?? 256 * 1024 * 1024, backgroundFullCollector());
  const metrics = createGatewayMetrics(opts.metrics, budget);
  const trusted = createTrustedProxies(opts.trustedProxies ?? []);
  const perIp = createConnectionLimit(opts.maxConnectionsPerIp ?? 256, trusted.trusts);
  // One rate limit for the lines about refused clients and invalid data points.
  const invalidLog = rateLimitedLog(opts.log);
  const tracker = createRequestTracker();
  const { reply, answering } = createReplier({ metrics, closing: () => tracker.closing });
  /** The client as the logs name it: the peer, and beside it X-Forwarded-For's client from a trusted proxy. */
  const clientName = (req: IncomingMessage): string => trusted.clientOf(req).label;
  const authenticate = createAuthenticate({ keys: opts.keys, trusted, authFailureLimit: opts.authFailureLimit ?? 20, metrics, reply, log: invalidLog });
  const ingest = createIngest({
    sink: opts.sink,
    tenants: opts.tenants,
    keyPrefix: opts.keyPrefix,
    rules: opts.rules,
    maxBodyBytes: opts.maxBodyBytes ?? 32 * 1024 * 1024,
    maxBatchBytes: opts.maxBatchBytes,
    budget,
    budgetWaitMs: opts.inflightWaitMs ?? 1000,
    authenticate,
    reply,
    metrics,
    clientName,
    invalidLog,
    log: opts.log,
    onReceived: opts.onReceived,
    logBatches: opts.logBatches,
  });
  const listeners = await openListeners({
    listenAddr: opts.listenAddr,
    httpPort: opts.httpPort,
    httpsPort: opts.httpsPort,
    tls: opts.tls,
    timeouts: serverTimeouts(opts.headersTimeoutMs, opts.requestTimeoutMs),
    maxConnections: opts.maxConnections,
    perIp,
    handle: createRequestHandler({ tracker, authenticate, ingest, reply, clientName, log: opts.log }),
    onClientError: createClientErrorHandler({ metrics, answering, onSocketError: socketErrorCounter(opts.metrics, 'gateway') }),
    metrics,
    log: opts.log,
  });
  const shutdown = createGatewayShutdown(listeners, tracker);
  return {
    ...listeners.addresses,
    setTls(tls) {
      if (!listeners.https) throw new Error('the gateway serves no HTTPS');
      listeners.https.setSecureContext(tlsServerOptions(tls));
    },
    close: () => shutdown.close(),
    destroy: () => shutdown.destroy(),
  };
}
