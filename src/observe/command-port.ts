// One TCP port that speaks two ways, as the original's runstats and destination API ports did plus
// HTTP: a connection whose first bytes are an HTTP method goes to the HTTP server; any other is a
// one-line text command (`stats`, `getdest`, ...) answered by `command`, then closed.
import type { Server as HttpServer } from 'node:http';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { listenOn, parseHostPort } from '../net/address.js';
import type { Stage } from '../lifecycle/stage.js';
import type { Registry } from './metrics.js';
import { socketErrorCounter, type SocketPlace } from './socket-errors.js';

/** close() and destroy() alike: answers are one line, so nothing is worth waiting for. */
export interface CommandPort extends Stage {
  readonly address: AddressInfo;
}

const HTTP_METHOD = /^(GET|HEAD|POST|PUT|DELETE|OPTIONS) /;
/** A command longer than this is answered as it stands. */
const MAX_COMMAND_BYTES = 1024;
const IDLE_TIMEOUT_MS = 30_000;

export async function createCommandPort(opts: {
  listenAddr: string;
  http: HttpServer;
  command: (line: string) => string;
  maxConnections: number;
  /** Its clients' socket errors are counted as this place's. */
  metrics: Registry;
  place: SocketPlace;
}): Promise<CommandPort> {
  const onSocketError = socketErrorCounter(opts.metrics, opts.place);
  opts.http.headersTimeout = 10_000;
  opts.http.requestTimeout = 30_000;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', onSocketError);
    socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
    let text = '';
    const answer = (line: string): void => {
      socket.off('data', onData);
      socket.end(opts.command(line.trim()));
    };
    function onData(chunk: Buffer): void {
      if (text === '' && HTTP_METHOD.test(chunk.toString('latin1', 0, 8))) {
        socket.off('data', onData);
        socket.pause();
        socket.unshift(chunk);
        opts.http.emit('connection', socket);
        socket.resume();
        return;
      }
      text += chunk.toString('utf8');
      const nl = text.indexOf('\n');
      if (nl !== -1) answer(text.slice(0, nl));
      else if (text.length >= MAX_COMMAND_BYTES) answer(text);
    }
    socket.on('data', onData);
    socket.on('end', () => {
      if (text !== '' && !socket.writableEnded) answer(text);
    });
  });
  server.maxConnections = opts.maxConnections;
  const { host, port } = parseHostPort(opts.listenAddr);
  const address = await listenOn(server, host, port);

  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= new Promise<void>((resolve) => {
      server.close(() => resolve());
      for (const s of sockets) s.destroy();
    });
    return closed;
  };
  return {
    address,
    close,
    destroy: () => void close(),
  };
}
