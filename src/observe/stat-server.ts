// -stat-addr: one TCP port that answers the original runstats `stats` command (`echo stats | nc
// localhost 2020`) and HTTP (GET /metrics in the Prometheus text format, GET /healthz). The first
// bytes of a connection decide which: an HTTP method, or a command.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { parseHostPort } from '../input/address.js';
import type { Registry } from './metrics.js';
import { buildStats } from './runtime-stats.js';

export interface Health {
  readonly ok: boolean;
  readonly details?: Record<string, unknown>;
}

export interface StatServer {
  readonly address: AddressInfo;
  close(): Promise<void>;
}

const HTTP_METHOD = /^(GET|HEAD|POST|PUT|DELETE|OPTIONS) /;
/** The original read at most 8 bytes of a command. */
const COMMAND_BYTES = 8;

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
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;

  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setTimeout(30_000, () => socket.destroy());
    socket.once('data', (first: Buffer) => {
      if (HTTP_METHOD.test(first.toString('latin1', 0, 8))) {
        socket.pause();
        socket.unshift(first);
        http.emit('connection', socket);
        socket.resume();
        return;
      }
      const command = first.toString('utf8', 0, COMMAND_BYTES).trim();
      socket.end(command === 'stats' ? JSON.stringify(buildStats(startedAt), null, 2) + '\n' : `Not a command: ${command}\n`);
    });
  });
  server.maxConnections = 256;
  const { host, port } = parseHostPort(opts.listenAddr);
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
  const address = server.address() as AddressInfo;
  opts.log(`Runstats started: ${host.includes(':') ? `[${address.address}]` : host}:${address.port}`);

  let closed: Promise<void> | undefined;
  return {
    address,
    close() {
      closed ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of sockets) s.destroy();
      });
      return closed;
    },
  };
}
