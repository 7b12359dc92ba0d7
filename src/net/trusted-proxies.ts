// Who a gateway's client is. The peer address of the connection is the truth and is always what the
// logs name; X-Forwarded-For is believed only from a peer in -trusted-proxies (a load balancer we
// run), and then only its rightmost entry that is not itself a trusted proxy: whatever a client
// writes into the header lies to the left of what our own balancers appended.
import { BlockList, isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { PolymurError } from '../errors.js';

export class TrustedProxiesError extends PolymurError {
  readonly code = 'POLYMUR_ERR_TRUSTED_PROXIES';
}

export interface Client {
  /** The address limits are counted against: the forwarded client's when trusted, else the peer's. */
  readonly address: string;
  /** For log lines: `peer` or `forwarded via peer`. */
  readonly label: string;
}

export interface TrustedProxies {
  trusts(address: string): boolean;
  clientOf(req: IncomingMessage): Client;
}

/** IPv4 peers of a dual-stack listener show as ::ffff:a.b.c.d; rules are written as a.b.c.d. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/** The address of an X-Forwarded-For entry: `ip`, `ipv4:port` or `[ipv6]:port`; undefined for anything else. */
function forwardedAddress(entry: string): string | undefined {
  if (isIP(entry)) return entry;
  const v6 = /^\[([^\]]+)\]:\d{1,5}$/.exec(entry);
  if (v6 && isIP(v6[1]!) === 6) return v6[1];
  const v4 = /^([\d.]+):\d{1,5}$/.exec(entry);
  if (v4 && isIP(v4[1]!) === 4) return v4[1];
  return undefined;
}

/** From a list of CIDRs or addresses (`10.0.0.0/8`, `127.0.0.1`, `fd00::/8`). */
export function createTrustedProxies(cidrs: readonly string[]): TrustedProxies {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [address = '', prefix, ...rest] = cidr.split('/');
    const family = isIP(address);
    const bits = prefix === undefined ? undefined : Number(prefix);
    const maxBits = family === 6 ? 128 : 32;
    if (family === 0 || rest.length > 0 || (bits !== undefined && !(/^\d+$/.test(prefix!) && bits <= maxBits))) {
      throw new TrustedProxiesError(`"${cidr}" is not an address or a CIDR (e.g. 10.0.0.0/8, fd00::/8)`);
    }
    const type = family === 6 ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(address, type);
    else list.addSubnet(address, bits, type);
  }
  const trusts = (address: string): boolean => {
    if (cidrs.length === 0) return false;
    const plain = plainAddress(address);
    const family = isIP(plain);
    return family !== 0 && list.check(plain, family === 6 ? 'ipv6' : 'ipv4');
  };
  return {
    trusts,
    clientOf(req) {
      const peerAddress = plainAddress(req.socket.remoteAddress ?? '');
      const peer = `${peerAddress}:${req.socket.remotePort}`;
      const header = req.headers['x-forwarded-for'];
      if (header === undefined || !trusts(peerAddress)) return { address: peerAddress, label: peer };
      const entries = (Array.isArray(header) ? header.join(',') : header).split(',').map((e) => e.trim());
      // From the right: our balancers' entries are skipped; the first other one is the client.
      for (let i = entries.length - 1; i >= 0; i--) {
        const address = forwardedAddress(entries[i]!);
        if (address === undefined) break;
        if (i > 0 && trusts(address)) continue;
        return { address, label: `${entries[i]} via ${peer}` };
      }
      return { address: peerAddress, label: peer };
    },
  };
}
