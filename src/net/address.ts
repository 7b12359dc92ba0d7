// Go-style addresses, parsed by one parser for every address flag: "0.0.0.0:2003", ":2003" (every
// interface), "[::1]:2003", "localhost:0"; and a bare host ("0.0.0.0", "[::1]", "::1") where the
// original took one (the gateway's -listen-addr, whose ports are flags of their own). The host handed
// to listen() or connect() never keeps its brackets.
import { once } from 'node:events';
import { isIP, type AddressInfo, type Server } from 'node:net';
import { PolymurError } from '../errors.js';

export class AddressError extends PolymurError {
  readonly code = 'POLYMUR_ERR_ADDRESS';
}

/** A host name: labels of letters, digits, '-' and '_' (seen in /etc/hosts and container names), separated by dots. */
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?(?:\.[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?)*\.?$/;

/** Why `host` (without brackets) is not a host name or IP address; undefined when it is one. */
function hostProblem(host: string, bracketed: boolean): string | undefined {
  if (bracketed) return isIP(host) === 6 ? undefined : `${host} is not an IPv6 address`;
  if (isIP(host) !== 0 || HOSTNAME.test(host)) return undefined;
  return `"${host}" is not a host name or IP address`;
}

/** `host:port` with an optional host; port 0 lets the OS choose. Throws AddressError. */
export function parseHostPort(addr: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]*)\]|([^:[\]]*)):(\d{1,5})$/.exec(addr);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new AddressError(`bad address "${addr}": expected host:port, e.g. 0.0.0.0:2003, :2003 or [::1]:2003`);
  }
  const host = m[1] ?? m[2]!;
  if (host === '') return { host: '::', port };
  const problem = hostProblem(host, m[1] !== undefined);
  if (problem) throw new AddressError(`bad address "${addr}": ${problem}`);
  return { host, port };
}

/** A host alone ("0.0.0.0", "[::1]", "::1", "gw.example.com"); empty means every interface. */
export function parseHost(text: string): string {
  if (text === '') return '::';
  const bracketed = /^\[([^\]]*)\]$/.exec(text);
  const host = bracketed ? bracketed[1]! : text;
  // A bare IPv6 literal has colons; a host:port given where only a host belongs has one.
  const problem = bracketed || isIP(host) === 6 ? hostProblem(host, true) : host.includes(':') ? 'a host without a port is expected here' : hostProblem(host, false);
  if (problem) throw new AddressError(`bad address "${text}": ${problem}`);
  return host;
}

/**
 * An IPv6 literal in its shortest form (RFC 5952), so two spellings of one address compare equal;
 * any other host lower-cased (DNS names are case-insensitive).
 */
export function canonicalHost(host: string): string {
  if (isIP(host) !== 6) return host.toLowerCase();
  // The WHATWG URL parser prints IPv6 hosts in RFC 5952 form; it refuses a zone (fe80::1%eth0).
  const zone = host.indexOf('%');
  const address = zone === -1 ? host : host.slice(0, zone);
  return new URL(`http://[${address}]/`).hostname.slice(1, -1) + (zone === -1 ? '' : host.slice(zone));
}

/** Listens on host:port; resolves with the bound address (port 0 is chosen by the OS), rejects with the listen error. */
export async function listenOn(server: Server, host: string, port: number): Promise<AddressInfo> {
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]: unknown[]) => Promise.reject(err))]);
  return server.address() as AddressInfo;
}

/** host:port as logs show it, with brackets around an IPv6 host. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
