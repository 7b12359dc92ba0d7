// -stat-addr: one TCP port that answers the original runstats `stats` command (`echo stats | nc
// localhost 2020`) and HTTP (GET /metrics in the Prometheus text format, GET /healthz for liveness,
// GET /readyz for readiness, GET / the status page and /status.json: status/status-page.ts). The
// first bytes of a connection decide which: an HTTP method, or a command.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { formatHostPort, parseHostPort } from '../net/address.js';
import { createCommandPort, type CommandPort } from './command-port.js';
import type { Liveness } from './heartbeat.js';
import type { Registry } from './metrics.js';
import { buildStats } from './runtime-stats.js';
import { createStatusPage } from './status/status-page.js';
import type { KeyLimits } from './status/status-json.js';

export type StatServer = CommandPort;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(body) + '\n');
}

export async function createStatServer(opts: {
  listenAddr: string;
  registry: Registry;
  liveness: () => Liveness;
  /** Why the program is not ready; empty when it is. */
  readiness: () => readonly string[];
  log: (m: string) => void;
  startedAt?: Date;
  /** -status-token: what the status page requires (empty: none, and the page only on loopback). */
  statusToken?: string;
  /** More JSON answers by path (the gateway's /tenants.json), computed per request. */
  json?: Readonly<Record<string, () => unknown>>;
  /** A key's quotas for the status page's keys table (the gateway's). */
  keyLimits?: ((key: string) => KeyLimits | undefined) | undefined;
}): Promise<StatServer> {
  const startedAt = opts.startedAt ?? new Date();
  const { host } = parseHostPort(opts.listenAddr);
  const status = createStatusPage({ registry: opts.registry, token: opts.statusToken ?? '', listenHost: host, startedAt, keyLimits: opts.keyLimits });
  const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const [path = '/', search = ''] = (req.url ?? '/').split('?');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(opts.registry.render());
    } else if (path === '/healthz') {
      const live = opts.liveness();
      json(res, live.ok ? 200 : 503, { status: live.ok ? 'ok' : 'unhealthy', reasons: live.reasons, event_loop_lag_ms: live.eventLoopLagMs, loops: live.loops });
    } else if (path === '/readyz') {
      const reasons = opts.readiness();
      json(res, reasons.length === 0 ? 200 : 503, { status: reasons.length === 0 ? 'ready' : 'not ready', reasons });
    } else if (path === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(buildStats(startedAt), null, 2) + '\n');
    } else if (opts.json !== undefined && Object.hasOwn(opts.json, path)) {
      json(res, 200, opts.json[path]!());
    } else if (!status.handle(req, res, path, new URLSearchParams(search))) {
      res.writeHead(404).end('Not Found\n');
    }
  });
  const port = await createCommandPort({
    listenAddr: opts.listenAddr,
    http,
    // The original answered `stats` and nothing else.
    command: (line) => (line === 'stats' ? JSON.stringify(buildStats(startedAt), null, 2) + '\n' : `Not a command: ${line}\n`),
    maxConnections: 256,
    metrics: opts.registry,
    place: 'stat-port',
  }).catch((err: unknown) => {
    status.stop();
    throw err;
  });
  opts.log(`Runstats started: ${formatHostPort(host, port.address.port)}`);
  return {
    address: port.address,
    close: () => {
      status.stop();
      return port.close();
    },
    destroy: () => {
      status.stop();
      port.destroy();
    },
  };
}
