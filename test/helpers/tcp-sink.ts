// A real TCP server on 127.0.0.1 that records every line it receives: the far end of a destination.
import { createServer, type Server, type Socket } from 'node:net';
import { once } from 'node:events';

export interface TcpSink {
  readonly port: number;
  readonly address: string;
  /** Every complete line received, in arrival order, without the LF. */
  readonly lines: string[];
  /** Resolves once at least `n` lines arrived; rejects after `timeoutMs`. */
  waitForLines(n: number, timeoutMs?: number): Promise<void>;
  /** Stops reading (a stalled destination: the sender's writes back up), and starts again. */
  pause(): void;
  resume(): void;
  /** Connections open now. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * `host` may be any loopback address (127.0.0.0/8), so that destinations can be distinct hosts;
 * `onLine` hears of each line as it arrives (a latency probe's arrival time).
 */
export async function startTcpSink(port = 0, host = '127.0.0.1', onLine?: (line: string) => void): Promise<TcpSink> {
  const lines: string[] = [];
  const sockets = new Set<Socket>();
  let paused = false;
  const waiters: { n: number; resolve: () => void }[] = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    if (paused) socket.pause();
    let carry = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const parts = (carry + chunk).split('\n');
      carry = parts.pop()!;
      for (const p of parts) {
        lines.push(p);
        onLine?.(p);
      }
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (lines.length >= waiters[i]!.n) waiters.splice(i, 1)[0]!.resolve();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(port, host);
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return {
    port: addr.port,
    address: `${host}:${addr.port}`,
    lines,
    waitForLines(n, timeoutMs = 30_000) {
      if (lines.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out with ${lines.length} of ${n} lines`)), timeoutMs);
        waiters.push({
          n,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        });
      });
    },
    pause() {
      paused = true;
      for (const s of sockets) s.pause();
    },
    resume() {
      paused = false;
      for (const s of sockets) s.resume();
    },
    connections: () => sockets.size,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
