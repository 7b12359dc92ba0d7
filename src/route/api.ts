// The destination API on -api-addr: the original's text commands (`echo getdest | nc localhost
// 2030`, `putdest ADDR`, `deldest ADDR`) and the same as HTTP JSON (GET/PUT/DELETE /destinations)
// on the same port; the first bytes of a connection tell which.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { once } from 'node:events';
import { parseHostPort } from '../input/address.js';
import { DestinationError } from './destination.js';
import type { Router } from './router.js';

const HTTP_METHOD = /^(GET|HEAD|POST|PUT|DELETE|OPTIONS) /;
const MAX_COMMAND_BYTES = 1024;

/** The original's getdest reply: connected destinations and when each was registered. */
export function destinationsJson(router: Router): string {
  const list = router.destinations();
  const body = {
    active: list.filter((d) => d.connected).map((d) => d.id),
    registered: Object.fromEntries(list.map((d) => [d.id, d.registeredAt.toISOString()])),
  };
  return JSON.stringify(body, null, 1) + '\n';
}

type Change = 'putdest' | 'deldest';

function change(router: Router, command: Change, address: string): string {
  if (command === 'putdest') {
    router.addDestination(address);
    return `Registered destination: ${address}\n`;
  }
  router.removeDestination(address);
  return `Unregistered destination: ${address}\n`;
}

function textCommand(router: Router, line: string): string {
  const [command, arg, ...rest] = line.trim().split(/\s+/);
  if (command === 'getdest' && arg === undefined) return destinationsJson(router);
  // The original's reply to a change without an address.
  if ((command === 'putdest' || command === 'deldest') && arg === undefined) return 'Must provide destination\n';
  if ((command === 'putdest' || command === 'deldest') && arg !== undefined && rest.length === 0) {
    try {
      return change(router, command, arg);
    } catch (err) {
      if (err instanceof DestinationError) return `Error: ${err.message}\n`;
      throw err;
    }
  }
  return `Not a command: ${line.trim()}\nCommands: getdest | putdest ADDR | deldest ADDR\n`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  let text = '';
  for await (const chunk of req) {
    text += chunk;
    if (text.length > MAX_COMMAND_BYTES) throw new DestinationError('request body too large');
  }
  return text;
}

/** A destination from a JSON body {"destination": "..."}, a plain-text body, or the path. */
function addressFrom(path: string, body: string): string {
  const fromPath = decodeURIComponent(path.slice('/destinations/'.length));
  if (path.startsWith('/destinations/') && fromPath !== '') return fromPath;
  const text = body.trim();
  if (text.startsWith('{')) {
    const parsed = JSON.parse(text) as { destination?: unknown };
    if (typeof parsed.destination !== 'string') throw new DestinationError('expected {"destination": "host:port[:instance]"}');
    return parsed.destination;
  }
  if (text === '') throw new DestinationError('no destination given');
  return text;
}

export async function createDestinationApi(opts: {
  listenAddr: string;
  router: Router;
  log: (m: string) => void;
}): Promise<{ address: AddressInfo; close(): Promise<void> }> {
  const send = (res: ServerResponse, status: number, body: string, type = 'application/json'): void => {
    res.writeHead(status, { 'content-type': type }).end(body);
  };
  const http = createHttpServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path !== '/destinations' && !path.startsWith('/destinations/')) return send(res, 404, '{"error":"not found"}\n');
    if (req.method === 'GET') return send(res, 200, destinationsJson(opts.router));
    if (req.method !== 'PUT' && req.method !== 'POST' && req.method !== 'DELETE') return send(res, 405, '{"error":"method not allowed"}\n');
    readBody(req)
      .then((body) => {
        const address = addressFrom(path, body);
        change(opts.router, req.method === 'DELETE' ? 'deldest' : 'putdest', address);
        send(res, 200, destinationsJson(opts.router));
      })
      .catch((err: unknown) => {
        // A bad address, bad JSON or a bad %-escape in the path is the client's mistake.
        const status = err instanceof DestinationError || err instanceof SyntaxError || err instanceof URIError ? 400 : 500;
        send(res, status, JSON.stringify({ error: (err as Error).message }) + '\n');
      });
  });
  http.headersTimeout = 10_000;

  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    socket.setTimeout(30_000, () => socket.destroy());
    let text = '';
    const onData = (chunk: Buffer): void => {
      if (text === '' && HTTP_METHOD.test(chunk.toString('latin1', 0, 8))) {
        socket.off('data', onData);
        socket.pause();
        socket.unshift(chunk);
        http.emit('connection', socket);
        socket.resume();
        return;
      }
      text += chunk.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl === -1 && text.length < MAX_COMMAND_BYTES) return;
      socket.off('data', onData);
      socket.end(textCommand(opts.router, nl === -1 ? text : text.slice(0, nl)));
    };
    socket.on('data', onData);
    socket.on('end', () => {
      if (text !== '' && !socket.writableEnded) socket.end(textCommand(opts.router, text));
    });
  });
  server.maxConnections = 64;
  const { host, port } = parseHostPort(opts.listenAddr);
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
  const address = server.address() as AddressInfo;
  opts.log(`API started: ${host.includes(':') ? `[${address.address}]` : host}:${address.port}`);
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
