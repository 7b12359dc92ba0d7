// The gateway's HTTP and HTTPS servers: made with their timeouts (and certificate), connections
// admitted under -max-connections and -max-connections-per-ip, listening on -listen-addr.
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { formatHostPort, listenOn } from '../input/address.js';
import type { ConnectionLimit } from '../input/connection-limit.js';
import { rateLimitedLog } from '../observe/log.js';
import { tlsServerOptions, type GatewayTls } from '../net/tls-policy.js';
import type { ServerTimeouts } from './client-errors.js';
import type { GatewayMetrics } from './gateway-metrics.js';

export interface Listeners {
  readonly servers: ReadonlyArray<{ readonly server: Server; readonly scheme: string; readonly port: number }>;
  /** The HTTPS server, whose certificate setTls changes. */
  readonly https: ReturnType<typeof createHttpsServer> | undefined;
  readonly addresses: { http?: AddressInfo; https?: AddressInfo };
  /** Every open client connection. */
  readonly sockets: Set<Socket>;
}

export async function openListeners(opts: {
  readonly listenAddr: string;
  readonly httpPort?: number | undefined;
  readonly httpsPort?: number | undefined;
  readonly tls?: GatewayTls | undefined;
  readonly timeouts: ServerTimeouts;
  readonly maxConnections?: number | undefined;
  readonly perIp: ConnectionLimit;
  readonly handle: (req: IncomingMessage, res: ServerResponse) => void;
  readonly onClientError: (err: NodeJS.ErrnoException, socket: Socket) => void;
  readonly metrics: GatewayMetrics;
  readonly log: (m: string) => void;
}): Promise<Listeners> {
  const { timeouts, handle, perIp, metrics: m } = opts;
  const refusedLog = rateLimitedLog(opts.log);
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
    server.on('clientError', opts.onClientError);
    server.on('drop', () => m.refused.inc());
    const address = await listenOn(server, opts.listenAddr === '' ? '::' : opts.listenAddr, port);
    addresses[scheme === 'HTTPS' ? 'https' : 'http'] = address;
    opts.log(`${scheme} listening on ${formatHostPort(address.address, address.port)}`);
  }
  return { servers, https: httpsServer, addresses, sockets };
}
