// A raw HTTP/1.1 client over TLS for hardening tests: it writes exactly the bytes a test gives it
// (slowly, partly, endlessly) and reads whatever comes back until the gateway closes the connection.
import { connect, type TLSSocket } from 'node:tls';
import { once } from 'node:events';

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string>;
  readonly body: string;
}

export interface RawConnection {
  readonly socket: TLSSocket;
  /** Resolves when the peer closed the connection, with everything it sent. */
  readonly closed: Promise<string>;
  /** Resolves with the first whole response (the connection may stay open); rejects if it closes first without one. */
  readonly response: Promise<RawResponse>;
  /** Writes, resolving once the socket took the bytes (false: the connection is gone). */
  write(data: Buffer | string): Promise<boolean>;
}

/** A TLS connection to 127.0.0.1:port, from `localAddress` (any 127.x.y.z) when given. */
export async function rawConnect(port: number, ca: Buffer, localAddress?: string): Promise<RawConnection> {
  const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...(localAddress ? { localAddress } : {}) });
  let received = '';
  let answered: (r: RawResponse) => void = () => {};
  const response = new Promise<RawResponse>((resolve) => (answered = resolve));
  socket.setEncoding('latin1').on('data', (s: string) => {
    received += s;
    const r = completeResponse(received);
    if (r) answered(r);
  });
  socket.on('error', () => {});
  // Not events.once: an 'error' (EPIPE after the gateway hung up) must not reject the wait for 'close'.
  const closed = new Promise<string>((resolve) => socket.once('close', () => resolve(received)));
  await Promise.race([once(socket, 'secureConnect'), closed.then(() => Promise.reject(new Error('connection closed before the TLS handshake')))]);
  const first = Promise.race([response, closed.then((raw) => parseResponse(raw))]);
  // A connection closed without an answer is an error only for a test that waits for one.
  first.catch(() => {});
  return {
    socket,
    closed,
    response: first,
    // A peer that stopped reading never lets a write finish: closing the connection ends the wait.
    write: (data) =>
      Promise.race([
        new Promise<boolean>((resolve) => {
          if (socket.destroyed || !socket.writable) return resolve(false);
          socket.write(data, (err) => resolve(!err));
        }),
        closed.then(() => false),
      ]),
  };
}

/** The first response once all of it (headers and Content-Length body) arrived; undefined before. */
function completeResponse(raw: string): RawResponse | undefined {
  const end = raw.indexOf('\r\n\r\n');
  if (end === -1) return undefined;
  const r = parseResponse(raw);
  return r.headers['content-length'] !== undefined && r.body.length === Number(r.headers['content-length']) ? r : undefined;
}

/** The first response in what a connection received. */
export function parseResponse(raw: string): RawResponse {
  const end = raw.indexOf('\r\n\r\n');
  if (!raw.startsWith('HTTP/1.1 ') || end === -1) throw new Error(`not an HTTP response: ${JSON.stringify(raw.slice(0, 200))}`);
  const [statusLine, ...headerLines] = raw.slice(0, end).split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const length = Number(headers['content-length'] ?? raw.length);
  return { status: Number(statusLine!.split(' ')[1]), headers, body: raw.slice(end + 4, end + 4 + length) };
}

/** Request head for a POST to the gateway; `length` undefined means chunked. */
export function postHead(path: string, key: string, length?: number): string {
  const framing = length === undefined ? 'Transfer-Encoding: chunked' : `Content-Length: ${length}`;
  return `POST ${path} HTTP/1.1\r\nHost: localhost\r\nX-Polymur-Key: ${key}\r\n${framing}\r\n\r\n`;
}

/** One whole request on a fresh connection; resolves with the response once the connection is done or answered. */
export async function rawPost(port: number, ca: Buffer, path: string, key: string, body: Buffer, localAddress?: string): Promise<RawResponse> {
  const c = await rawConnect(port, ca, localAddress);
  await c.write(Buffer.concat([Buffer.from(postHead(path, key, body.length).replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n')), body]));
  return parseResponse(await c.closed);
}
