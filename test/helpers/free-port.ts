// A port on 127.0.0.1 that was free a moment ago (for a program that must be told its port, or an
// address where nothing listens). Starts nothing, so a test that needs only this stays a unit test.
import { once } from 'node:events';
import { createServer } from 'node:net';

export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}
