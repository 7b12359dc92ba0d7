// How many bytes our kernel still holds for one TCP connection: written by us and not yet
// acknowledged by the peer (sent or not), what `ss` shows as Send-Q and SIOCOUTQ answers. Node
// does not expose it; Linux lists it per connection in /proc/net/tcp and tcp6 (tx_queue). A
// connection whose send queue holds bytes that the peer does not acknowledge for a while has a
// peer that stopped reading, even when we have nothing more to write.
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { endianness } from 'node:os';

export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

const hexPort = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');

/** An IPv4 address as /proc/net/tcp writes it: the 32-bit word in host byte order, in hex. */
function hexIPv4(address: string): string {
  const bytes = address.split('.').map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0'));
  return (endianness() === 'LE' ? bytes.reverse() : bytes).join('');
}

/** The `local rem st tx_queue:rx_queue` fields of the connection's line, matched on the ports (and the IPv4 addresses). */
function findTxQueue(table: string, local: Endpoint, remote: Endpoint): number | undefined {
  const v4 = isIPv4(local.address) && isIPv4(remote.address);
  const localKey = v4 ? `${hexIPv4(local.address)}:${hexPort(local.port)}` : `:${hexPort(local.port)}`;
  const remoteKey = v4 ? `${hexIPv4(remote.address)}:${hexPort(remote.port)}` : `:${hexPort(remote.port)}`;
  for (const line of table.split('\n')) {
    const [, localField, remoteField, state, queues] = line.trim().split(/\s+/);
    // 01: ESTABLISHED.
    if (state !== '01' || !localField?.endsWith(localKey) || !remoteField?.endsWith(remoteKey)) continue;
    return parseInt(queues!.split(':')[0]!, 16);
  }
  return undefined;
}

/** How long one read of the table serves: every destination's watchdog asks on its tick, and the table lists every socket of the host. */
const TABLE_SHARED_MS = 100;
const tables = new Map<string, { readonly text: string; readonly at: number }>();

function readFresh(path: string): string {
  const text = readFileSync(path, 'utf8');
  tables.set(path, { text, at: Date.now() });
  return text;
}

/**
 * Bytes in the connection's send queue; undefined when it cannot be read (not Linux) or the connection
 * is not listed. The table is read once for every connection that asks within TABLE_SHARED_MS; one it
 * does not list yet (newer than that read) reads it again.
 */
export function readSendQueue(local: Endpoint, remote: Endpoint, read?: (path: string) => string): number | undefined {
  const path = isIPv4(local.address) ? '/proc/net/tcp' : '/proc/net/tcp6';
  try {
    if (read !== undefined) return findTxQueue(read(path), local, remote);
    const kept = tables.get(path);
    const shared = kept !== undefined && Date.now() - kept.at < TABLE_SHARED_MS ? findTxQueue(kept.text, local, remote) : undefined;
    return shared ?? findTxQueue(readFresh(path), local, remote);
  } catch {
    return undefined;
  }
}
