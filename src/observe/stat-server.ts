// -stat-addr: one TCP port that answers the original runstats `stats` command (`echo stats | nc
// localhost 2020`) and HTTP (GET /metrics in the Prometheus text format, GET /healthz). The first
// bytes of a connection decide which: an HTTP method, or a command.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { formatHostPort, parseHostPort } from '../input/address.js';
import { createCommandPort, type CommandPort } from './command-port.js';
import type { Registry } from './metrics.js';
import { buildStats } from './runtime-stats.js';

export interface Health {
  readonly ok: boolean;
  readonly details?: Record<string, unknown>;
}

export type StatServer = CommandPort;

export async function createStatServer(opts: {
  listenAddr: string;
  registry: Registry;
  health?: () => Health;
  log: (m: string) => void;
  startedAt?: Date;
}): Promise<StatServer> {
  const startedAt = opts.startedAt ?? new Date();
  const http = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(opts.registry.render());
    } else if (path === '/healthz') {
      const health = opts.health?.() ?? { ok: true };
      res.writeHead(health.ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: health.ok ? 'ok' : 'unhealthy', ...health.details }) + '\n');
    } else if (path === '/stats') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(buildStats(startedAt), null, 2) + '\n');
    } else {
      res.writeHead(404).end('Not Found\n');
    }
  });
  const port = await createCommandPort({
    listenAddr: opts.listenAddr,
    http,
    // The original answered `stats` and nothing else.
    command: (line) => (line === 'stats' ? JSON.stringify(buildStats(startedAt), null, 2) + '\n' : `Not a command: ${line}\n`),
    maxConnections: 256,
  });
  const { host } = parseHostPort(opts.listenAddr);
  opts.log(`Runstats started: ${formatHostPort(host, port.address.port)}`);
  return port;
}
