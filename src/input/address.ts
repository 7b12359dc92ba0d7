// Go-style listen addresses: "0.0.0.0:2003", ":2003" (every interface), "[::1]:2003", "localhost:0".

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
