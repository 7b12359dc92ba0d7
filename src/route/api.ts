// The destination API on -api-addr: the original's text commands (`echo getdest | nc localhost
// 2030`, `putdest ADDR`, `deldest ADDR`) and the same as HTTP JSON (GET/PUT/DELETE /destinations)
// on the same port; the first bytes of a connection tell which. Browser requests are refused and
// -api-token is required when set (see api-guard.ts).
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { formatHostPort, parseHostPort } from '../net/address.js';
import { rateLimitedLog } from '../observe/log.js';
import { createCommandPort, type CommandPort } from '../observe/command-port.js';
import type { Registry } from '../observe/metrics.js';
import { bearerToken, browserSign, createApiToken, splitAuth } from './api-guard.js';
import { DestinationError, parseDestination } from './destination.js';
import type { Router } from './router.js';

/** What the API changes and shows: the router, or with -console-out a stand-in with no destinations. */
export type DestinationControl = Pick<Router, 'destinations' | 'addDestination' | 'removeDestination'>;

const MAX_COMMAND_BYTES = 1024;

/** The original's getdest reply: connected destinations and when each was registered. */
export function destinationsJson(router: DestinationControl): string {
  const list = router.destinations();
  const body = {
    active: list.filter((d) => d.connected).map((d) => d.id),
    registered: Object.fromEntries(list.map((d) => [d.id, d.registeredAt.toISOString()])),
  };
  return JSON.stringify(body, null, 1) + '\n';
}

type Change = 'putdest' | 'deldest';

function change(router: DestinationControl, command: Change, address: string): string {
  if (command === 'putdest') {
    router.addDestination(address);
    return `Registered destination: ${address}\n`;
  }
  router.removeDestination(address);
  return `Unregistered destination: ${address}\n`;
}

/**
 * The original's replies where they lose nothing: "Destination X not valid", and "Registered
 * destination: X" for one already registered (it is, as asked). A deldest of an unknown
 * destination stays an error: the original's "Unregistered" would hide a typo (MIGRATING.md).
 */
function textChange(router: DestinationControl, command: Change, address: string): string {
  let id: string;
  try {
    id = parseDestination(address).id;
  } catch (err) {
    if (!(err instanceof DestinationError)) throw err;
    const prefix = `bad destination "${address}": `;
    return `Destination ${address} not valid: ${err.message.startsWith(prefix) ? err.message.slice(prefix.length) : err.message}\n`;
  }
  if (command === 'putdest' && router.destinations().some((d) => d.id === id)) return `Registered destination: ${address}\n`;
  try {
    return change(router, command, address);
  } catch (err) {
    if (err instanceof DestinationError) return `Error: ${err.message}\n`;
    throw err;
  }
}

function textCommand(router: DestinationControl, line: string): string {
  const [command, arg, ...rest] = line.split(/\s+/);
  if (command === 'getdest' && arg === undefined) return destinationsJson(router);
  // The original's reply to a change without an address.
  if ((command === 'putdest' || command === 'deldest') && arg === undefined) return 'Must provide destination\n';
  if ((command === 'putdest' || command === 'deldest') && arg !== undefined && rest.length === 0) return textChange(router, command, arg);
  if (command === 'getdest') return 'Error: getdest takes no argument\n';
  if (command === 'putdest' || command === 'deldest') return `Error: ${command} takes one destination\n`;
  // The original's reply names the first word only.
  return `Not a command: ${command}\n`;
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
  router: DestinationControl;
  /** -api-token; empty: none required. */
  token: string;
  log: (m: string) => void;
  metrics: Registry;
}): Promise<CommandPort> {
  const token = createApiToken(opts.token);
  const refusedLog = rateLimitedLog(opts.log);
  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(body);
  };
  const http = createHttpServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0]!;
    const peer = `${req.socket.remoteAddress}:${req.socket.remotePort}`;
    const browser = browserSign(req);
    if (browser !== undefined) {
      refusedLog(`[api ${peer}] ${req.method} ${path} refused: ${browser}, a browser's request`);
      req.resume();
      return send(res, 403, '{"error":"browser requests are refused"}\n', { connection: 'close' });
    }
    if (!token.matches(bearerToken(req))) {
      refusedLog(`[api ${peer}] ${req.method} ${path} refused: no valid -api-token`);
      req.resume();
      return send(res, 401, '{"error":"Authorization: Bearer <api token> required"}\n', { 'www-authenticate': 'Bearer', connection: 'close' });
    }
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
  const command = (line: string): string => {
    const { token: given, command: rest } = splitAuth(line);
    if (!token.matches(given)) {
      refusedLog(`[api] text command refused: no valid -api-token`);
      return 'Error: this API needs its token: auth TOKEN COMMAND\n';
    }
    return textCommand(opts.router, rest);
  };
  const port = await createCommandPort({ listenAddr: opts.listenAddr, http, command, maxConnections: 64, metrics: opts.metrics, place: 'api-port' });
  const { host } = parseHostPort(opts.listenAddr);
  opts.log(`API started: ${formatHostPort(host, port.address.port)}`);
  return port;
}
