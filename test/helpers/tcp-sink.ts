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
  close(): Promise<void>;
}

export async function startTcpSink(port = 0): Promise<TcpSink> {
  const lines: string[] = [];
  const sockets = new Set<Socket>();
  const waiters: { n: number; resolve: () => void }[] = [];
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    let carry = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      const parts = (carry + chunk).split('\n');
      carry = parts.pop()!;
      for (const p of parts) lines.push(p);
      for (let i = waiters.length - 1; i >= 0; i--) {
        if (lines.length >= waiters[i]!.n) waiters.splice(i, 1)[0]!.resolve();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(port, '127.0.0.1');
  await once(server, 'listening');
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('no address');
  return {
    port: addr.port,
    address: `127.0.0.1:${addr.port}`,
    lines,
    waitForLines(n, timeoutMs = 30_000) {
      if (lines.length >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out with ${lines.length} of ${n} lines`)), timeoutMs);
        waiters.push({ n, resolve: () => { clearTimeout(timer); resolve(); } });
      });
    },
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
