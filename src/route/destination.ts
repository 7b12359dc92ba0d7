// A destination: `host:port[:instance]`, as carbon names its destinations. On the hash ring the
// node is (host, instance), with instance null (Python's None) when absent, the host as written.
// Which machine it names (for duplicates) compares IPv6 literals in their shortest form.
import { isIP } from 'node:net';
import { canonicalHost, formatHostPort } from '../net/address.js';
import { PolymurError } from '../errors.js';

export interface DestinationAddress {
  readonly host: string;
  readonly port: number;
  readonly instance: string | null;
  /** As given: "host:port[:instance]". */
  readonly id: string;
  /** host:port with the host canonical: `[::1]:2003` for `[0:0:0:0:0:0:0:1]:2003` too. */
  readonly endpoint: string;
}

export class DestinationError extends PolymurError {
  readonly code = 'POLYMUR_ERR_DESTINATION';
}

export function parseDestination(text: string): DestinationAddress {
  const id = text.trim();
  // [v6]:port[:instance] or host:port[:instance]
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})(?::([A-Za-z0-9_.-]+))?$/.exec(id);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port < 1 || port > 65535) {
    throw new DestinationError(`bad destination "${text}": expected host:port or host:port:instance, e.g. 10.0.0.1:2003:a`);
  }
  const host = m[1] ?? m[2]!;
  if (m[1] !== undefined && isIP(host) !== 6) throw new DestinationError(`bad destination "${text}": ${host} is not an IPv6 address`);
  return { host, port, instance: m[4] ?? null, id, endpoint: formatHostPort(canonicalHost(host), port) };
}

export type Distribution = 'broadcast' | 'hash-route';

/** Comma-separated destinations, none the same as another (see `sameDestination`). */
export function parseDestinations(csv: string, distribution: Distribution = 'hash-route'): DestinationAddress[] {
  const list = csv
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0)
    .map(parseDestination);
  list.forEach((d, i) => {
    const twin = list.slice(0, i).find((other) => sameDestination(d, other, distribution));
    if (twin) throw new DestinationError(duplicateMessage(d, twin, distribution));
  });
  return list;
}

/**
 * Two destinations that cannot both be used: in hash-route the same ring node (host, instance),
 * as in carbon, or the same instance at one host:port spelt two ways; in broadcast, where the ring
 * plays no part, the same host:port.
 */
export function sameDestination(a: DestinationAddress, b: DestinationAddress, distribution: Distribution): boolean {
  const sameEndpoint = a.endpoint === b.endpoint;
  return distribution === 'hash-route' ? nodeKey(a) === nodeKey(b) || (sameEndpoint && a.instance === b.instance) : sameEndpoint;
}

export function duplicateMessage(d: DestinationAddress, twin: DestinationAddress, distribution: Distribution): string {
  if (distribution === 'hash-route' && nodeKey(d) === nodeKey(twin)) {
    return `destination ${d.id} is the same ring node (${d.host}, ${d.instance ?? 'None'}) as ${twin.id}: give it a distinct instance`;
  }
  return `destination ${d.id} is the same host:port${distribution === 'hash-route' ? ' and instance' : ''} (${d.endpoint}) as ${twin.id}`;
}

/** The identity of a destination on the hash ring. */
export function nodeKey(d: DestinationAddress): string {
  return `${d.host}\u0000${d.instance ?? ''}\u0000${d.instance === null ? 'none' : 'some'}`;
}
