// Go-style listen addresses: "0.0.0.0:2003", ":2003" (every interface), "[::1]:2003", "localhost:0",
// and listening on them.
import { once } from 'node:events';
import type { AddressInfo, Server } from 'node:net';

export class AddressError extends Error {
  override readonly name = 'AddressError';
}

export function parseHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new AddressError(`bad listen address "${addr}": expected host:port, e.g. 0.0.0.0:2003, :2003 or [::1]:2003`);
  }
  const host = m[1] ?? m[2] ?? '';
  return { host: host === '' ? '::' : host, port };
}

/** Listens on host:port; resolves with the bound address (port 0 is chosen by the OS), rejects with the listen error. */
export async function listenOn(server: Server, host: string, port: number): Promise<AddressInfo> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err))]);
  return server.address() as AddressInfo;
}

/** host:port as logs show it, with brackets around an IPv6 host. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
