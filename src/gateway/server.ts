// polymur-gateway's HTTP(S) server: /ping and /ingest as the original's wire protocol says. The key
// is checked on every request; the gzip body is read up to -max-body-bytes and inflated up to
// -max-batch-bytes (see body.ts: in one pass when small, as it streams in when large), so a gzip
// bomb is never inflated beyond the cap, and all requests together hold at most -max-inflight-bytes
// (inflight-budget.ts); validation yields to other clients (validate-slices.ts). A batch is answered
// 200 only once the destinations' queues took it, and 503 + Retry-After when they are full.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { BatchSink } from '../batch/batch.js';
import type { Stage } from '../lifecycle/stage.js';
import { formatHostPort, listenOn } from '../input/address.js';
import { createConnectionLimit } from '../input/connection-limit.js';
import { INVALID_REASON_LABELS, MAX_LINE_BYTES, type InvalidReason } from '../input/lines.js';
import { rateLimitedLog } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';
import { socketErrorCounter } from '../observe/socket-errors.js';
import { tlsServerOptions, type GatewayTls } from '../net/tls-policy.js';
import { createTrustedProxies } from '../net/trusted-proxies.js';
import { createAuthLimiter } from './auth-limiter.js';
import { BodyTooLarge, readBody } from './body.js';
import { BudgetExhausted, createInflightBudget, type Lease } from './inflight-budget.js';
import { filterLinesInSlices } from './validate-slices.js';

export interface KeyLookup {
  lookup(key: string): string | undefined;
}

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
  readonly sink: BatchSink;
  readonly keyPrefix: boolean;
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

const RETRY_AFTER_SECONDS = '1';
/** How long failed authentications from an address are remembered. */
const AUTH_WINDOW_MS = 60_000;
/** How long the rest of a refused body is read and dropped before the connection is cut. */
const REFUSED_BODY_LINGER_MS = 1000;
/** How often Node checks the header and request timeouts (its default, 30 s, would let them overrun). */
const TIMEOUT_CHECK_MS = 500;

export async function createGateway(opts: GatewayOptions): Promise<Gateway> {
  const maxBodyBytes = opts.maxBodyBytes ?? 32 * 1024 * 1024;
  const limits = { maxBodyBytes, maxBatchBytes: opts.maxBatchBytes };
  const budget = createInflightBudget(opts.maxInflightBytes ?? 256 * 1024 * 1024);
  const budgetWaitMs = opts.inflightWaitMs ?? 1000;
  const m = {
    batches: opts.metrics.counter('polymur_batches_received_total', 'Batches read from proxies and accepted, by key name', []),
    points: opts.metrics.counter('polymur_points_received_total', 'Valid data points read from clients (in accepted batches), by key name', []),
    bytes: opts.metrics.counter('polymur_bytes_received_total', 'Bytes of batches read, as sent (gzip or identity) and raw', [
      { encoding: 'gzip' },
      { encoding: 'identity' },
      { encoding: 'raw' },
    ]),
    authFailures: opts.metrics.counter('polymur_auth_failures_total', 'Requests with an unknown API key'),
    requests: opts.metrics.counter('polymur_requests_total', 'HTTP requests, by path and status code', []),
    invalid: opts.metrics.counter('polymur_points_invalid_total', 'Invalid data points dropped, by reason', INVALID_REASON_LABELS),
    full: opts.metrics.counter('polymur_batches_refused_total', 'Batches answered 503 because the destination queues were full'),
    busy: opts.metrics.counter('polymur_batches_busy_total', 'Batches answered 503 because the in-flight memory budget (-max-inflight-bytes) stayed full'),
    refused: opts.metrics.counter('polymur_connections_refused_total', 'Client connections refused over -max-connections'),
    refusedPerIp: opts.metrics.counter('polymur_connections_refused_per_ip_total', 'Client connections refused over -max-connections-per-ip'),
    duration: opts.metrics.histogram('polymur_request_duration_seconds', 'Duration of /ingest requests', [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
  };
  opts.metrics.gauge('polymur_inflight_bytes', 'Bytes held by /ingest requests being read, inflated and validated (-max-inflight-bytes)', () => budget.used());
  opts.metrics.gauge('polymur_inflight_limit_bytes', 'The in-flight memory budget, -max-inflight-bytes', () => budget.limit);
  opts.metrics.gauge('polymur_inflight_waiting_requests', '/ingest requests waiting for room in the in-flight budget', () => budget.waiting());
  const trusted = createTrustedProxies(opts.trustedProxies ?? []);
  const perIp = createConnectionLimit(opts.maxConnectionsPerIp ?? 256, trusted.trusts);
  const limiter = createAuthLimiter({ maxFailures: opts.authFailureLimit ?? 20, windowMs: AUTH_WINDOW_MS });
  const invalidLog = rateLimitedLog(opts.log);
  // One line per valid /ping is the original's; a client pinging in a loop must not flood the log.
  const pingLog = rateLimitedLog(opts.log);
  const refusedLog = rateLimitedLog(opts.log);
  let closing = false;
  let inFlight = 0;
  const idle: Array<() => void> = [];
  // Sockets whose current response has begun: a timeout there cannot be answered with a 408.
  const answering = new WeakSet<Socket>();

  const reply = (res: ServerResponse, path: string, status: number, body: string, headers: Record<string, string> = {}): void => {
    m.requests.inc(1, { path, code: String(status) });
    const socket = res.req.socket;
    answering.add(socket);
    res.once('finish', () => answering.delete(socket));
    if (closing) headers = { ...headers, connection: 'close' };
    res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': String(Buffer.byteLength(body)), ...headers });
    res.end(body);
  };

  /** The client as the logs name it: the peer, and beside it X-Forwarded-For's client from a trusted proxy. */
  const clientName = (req: IncomingMessage): string => trusted.clientOf(req).label;

  /**
   * The key's name, or undefined after answering 401/429. A valid key always goes through: the
   * limiter slows failing attempts only, so a client behind the same NAT or load balancer as
   * someone guessing keys is never locked out.
   */
  const authenticate = (req: IncomingMessage, res: ServerResponse, path: string): string | undefined => {
    const header = req.headers['x-polymur-key'];
    const key = Array.isArray(header) ? header[0] : header;
    const name = key === undefined ? undefined : opts.keys.lookup(key);
    if (name !== undefined) return name;
    // Behind a trusted balancer every client has its address: one bad client must not block the rest.
    const address = trusted.clientOf(req).address;
    if (limiter.blocked(address)) {
      reply(res, path, 429, 'too many invalid keys\n', { 'retry-after': String(AUTH_WINDOW_MS / 1000), connection: 'close' });
      return undefined;
    }
    m.authFailures.inc();
    limiter.failed(address);
    invalidLog(`[client ${clientName(req)}] invalid key`);
    reply(res, path, 401, 'invalid key');
    return undefined;
  };

  /**
   * 413, 400 or 503 (no room in the in-flight budget) while the client may still be sending.
   * Closing at once would reset the connection under the bytes in flight and the client would
   * never read the answer; so the rest is read and dropped (never inflated, never kept) for a
   * moment, then an unfinished request is cut off.
   */
  const refuseBody = (req: IncomingMessage, res: ServerResponse, status: 400 | 413 | 503): void => {
    if (status === 503) reply(res, '/ingest', 503, 'Gateway busy, retry later\n', { 'retry-after': RETRY_AFTER_SECONDS });
    else reply(res, '/ingest', status, status === 413 ? 'Batch Too Large\n' : 'Batch Malformed\n');
    if (req.complete) return;
    setTimeout(() => {
      if (!req.complete) req.socket.destroy();
    }, REFUSED_BODY_LINGER_MS).unref();
  };

  /** An /ingest request with its share of the in-flight budget, given back however the request ends. */
  const ingest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const lease = budget.lease();
    try {
      await ingestWithin(req, res, lease);
    } finally {
      lease.release();
    }
  };

  const ingestWithin = async (req: IncomingMessage, res: ServerResponse, lease: Lease): Promise<void> => {
    const started = process.hrtime.bigint();
    const name = authenticate(req, res, '/ingest');
    if (name === undefined) return void req.resume();
    const encoding = (req.headers['content-encoding'] ?? 'gzip').toLowerCase();
    if (encoding !== 'gzip' && encoding !== 'identity') {
      req.resume();
      return reply(res, '/ingest', 415, `unsupported Content-Encoding ${encoding}\n`);
    }
    if (Number(req.headers['content-length'] ?? 0) > maxBodyBytes) {
      req.resume();
      return refuseBody(req, res, 413);
    }
    const gzip = encoding === 'gzip';
    let body: Buffer;
    try {
      const read = await readBody(req, gzip, limits, { lease, waitMs: budgetWaitMs });
      body = read.data;
      m.bytes.inc(read.received, { encoding });
      m.bytes.inc(body.length, { encoding: 'raw' });
    } catch (err) {
      if (err instanceof BodyTooLarge) return refuseBody(req, res, 413);
      if (req.socket.destroyed) return;
      if (err instanceof BudgetExhausted) {
        m.busy.inc();
        invalidLog(`[client ${clientName(req)}] batch from ${name} refused: ${err.message}`);
        return refuseBody(req, res, 503);
      }
      return refuseBody(req, res, 400);
    }
    const prefix = opts.keyPrefix ? Buffer.from(`${name}.`) : undefined;
    const onInvalid = (line: Buffer, reason: InvalidReason): void => {
      m.invalid.inc(1, { reason });
      invalidLog(`[client ${clientName(req)}] invalid data point from ${name} dropped (${reason}): ${JSON.stringify(line.subarray(0, 200).toString('latin1'))}`);
    };
    const lines = await filterLinesInSlices(body, prefix, onInvalid, MAX_LINE_BYTES);
    // A validated copy (a prefix, a dropped line) is held too until the destinations take it.
    if (lines.data.buffer !== body.buffer) lease.add(lines.data.length);
    if (lines.points > 0 && !opts.sink.offer({ data: lines.data, points: lines.points })) {
      m.full.inc();
      return reply(res, '/ingest', 503, 'Destination queues full, retry later\n', { 'retry-after': RETRY_AFTER_SECONDS });
    }
    m.batches.inc(1, { key: name });
    m.points.inc(lines.points, { key: name });
    opts.onReceived?.(lines.points);
    // The original's wording, its spelling included: log scrapers match it.
    if (opts.logBatches) opts.log(`[client ${clientName(req)}] Recieved batch from from ${name}`);
    m.duration.observe(Number(process.hrtime.bigint() - started) / 1e9);
    reply(res, '/ingest', 200, 'Batch Received\n');
  };

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (closing) {
      req.resume();
      return reply(res, path, 503, 'Shutting down\n', { 'retry-after': RETRY_AFTER_SECONDS });
    }
    if (path !== '/ping' && path !== '/ingest') {
      req.resume();
      return reply(res, 'other', 404, 'Not Found\n');
    }
    // /ping answers any method, as the original's (load balancers check with GET).
    if (path === '/ingest' && req.method !== 'POST') {
      req.resume();
      return reply(res, path, 405, 'Method Not Allowed\n', { allow: 'POST' });
    }
    if (path === '/ping') {
      req.resume();
      const name = authenticate(req, res, path);
      if (name === undefined) return;
      pingLog(`[client ${clientName(req)}] key for ${name} is valid`);
      return reply(res, path, 200, 'key is valid\n');
    }
    inFlight++;
    ingest(req, res)
      .catch((err: unknown) => {
        opts.log(`[client ${clientName(req)}] request failed: ${(err as Error).message}`);
        if (!res.headersSent) reply(res, path, 500, 'Internal Error\n');
      })
      .finally(() => {
        if (--inFlight === 0) for (const done of idle.splice(0)) done();
      });
  };

  const requestTimeout = opts.requestTimeoutMs ?? 60_000;
  const timeouts = {
    // Node requires headersTimeout <= requestTimeout; the headers are part of the request anyway.
    headersTimeout: Math.min(opts.headersTimeoutMs ?? 10_000, requestTimeout),
    requestTimeout,
    connectionsCheckingInterval: TIMEOUT_CHECK_MS,
  };
  /**
   * A client too slow with its headers or body gets 408 when nothing was answered yet; a request
   * that does not parse, 400. Anything else (a TLS handshake that failed or timed out: there is no
   * channel to answer on) is cut off at once.
   */
  const onSocketError = socketErrorCounter(opts.metrics, 'gateway');
  const onClientError = (err: NodeJS.ErrnoException, socket: Socket): void => {
    const answer = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? ['408 Request Timeout', 'Request Timeout\n'] : err.code?.startsWith('HPE_') ? ['400 Bad Request', 'Bad Request\n'] : undefined;
    if (!answer) onSocketError(err);
    if (!answer || !socket.writable || answering.has(socket)) return void socket.destroy();
    const [status, text] = answer as [string, string];
    m.requests.inc(1, { path: 'other', code: status.slice(0, 3) });
    socket.end(`HTTP/1.1 ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${text.length}\r\nConnection: close\r\n\r\n${text}`);
    socket.destroySoon();
  };
  const servers: Array<{ server: Server; scheme: string; port: number }> = [];
  let httpsServer: ReturnType<typeof createHttpsServer> | undefined;
  if (opts.httpsPort !== undefined) {
    if (!opts.tls) throw new Error('HTTPS needs a certificate and a key');
    // A connection that never completes the TLS handshake holds a slot too: it gets the header
    // timeout (Node's default would be 120 s, whatever -read-header-timeout says).
    const tlsOptions = { handshakeTimeout: timeouts.headersTimeout, ...tlsServerOptions(opts.tls) };
    httpsServer = createHttpsServer({ ...timeouts, ...tlsOptions }, handle);
    servers.push({ server: httpsServer, scheme: 'HTTPS', port: opts.httpsPort });
  }
  if (opts.httpPort !== undefined) servers.push({ server: createHttpServer(timeouts, handle), scheme: 'HTTP', port: opts.httpPort });

  const addresses: { http?: AddressInfo; https?: AddressInfo } = {};
  const sockets = new Set<Socket>();
  for (const { server, scheme, port } of servers) {
    server.keepAliveTimeout = 65_000;
    server.maxConnections = opts.maxConnections ?? 4096;
    server.on('connection', (s: Socket) => {
      if (!perIp.admit(s)) {
        m.refusedPerIp.inc();
        refusedLog(perIp.refusal(s));
        return void s.destroy();
      }
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    server.on('clientError', onClientError);
    server.on('drop', () => m.refused.inc());
    const address = await listenOn(server, opts.listenAddr === '' ? '::' : opts.listenAddr, port);
    addresses[scheme === 'HTTPS' ? 'https' : 'http'] = address;
    opts.log(`${scheme} listening on ${formatHostPort(address.address, address.port)}`);
  }

  let closed: Promise<void> | undefined;
  /** Every connection cut; whoever waits for the requests in flight is released. */
  const cutConnections = (): void => {
    closing = true;
    for (const s of sockets) s.destroy();
    for (const done of idle.splice(0)) done();
  };
  return {
    ...addresses,
    setTls(tls) {
      if (!httpsServer) throw new Error('the gateway serves no HTTPS');
      httpsServer.setSecureContext(tlsServerOptions(tls));
    },
    close() {
      closed ??= (async () => {
        closing = true;
        const stopped = Promise.all(servers.map(({ server }) => new Promise<void>((r) => server.close(() => r()))));
        for (const { server } of servers) server.closeIdleConnections();
        // Bounded by the caller (closeStages), which calls destroy() at its deadline.
        if (inFlight > 0) await new Promise<void>((r) => idle.push(r));
        cutConnections();
        await stopped;
      })();
      return closed;
    },
    destroy() {
      for (const { server } of servers) if (server.listening) server.close();
      cutConnections();
    },
  };
}
