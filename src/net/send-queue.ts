// How many bytes our kernel still holds for one TCP connection: written by us and not yet
// acknowledged by the peer (sent or not), what `ss` shows as Send-Q and SIOCOUTQ answers. Node
// does not expose it; Linux lists it per connection in /proc/net/tcp and tcp6 (tx_queue). A
// connection whose send queue holds bytes that the peer does not acknowledge for a while has a
// peer that stopped reading, even when we have nothing more to write. When the peer is a process
// of this host (a carbon-cache beside the relay, the tests' and the bench's sinks), the table lists
// its end of the connection too, and its rx_queue is what it received and has not read yet.
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { endianness } from 'node:os';
import { performance } from 'node:perf_hooks';
import { diagQueues, type Endpoint } from './tcp-diag.js';

export type { Endpoint };

const hexPort = (port: number): string => port.toString(16).toUpperCase().padStart(4, '0');

/** An IPv4 address as /proc/net/tcp writes it: the 32-bit word in host byte order, in hex. */
function hexIPv4(address: string): string {
  const bytes = address.split('.').map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0'));
  return (endianness() === 'LE' ? bytes.reverse() : bytes).join('');
}

/** An endpoint as /proc/net/tcp(6) writes it (an IPv6 address only by its port: the suffix the line's field ends with). */
const endpointKey = (e: Endpoint, v4: boolean): string => (v4 ? `${hexIPv4(e.address)}:${hexPort(e.port)}` : `:${hexPort(e.port)}`);

/** The connection's line of the table: its tx_queue and rx_queue, and where the line starts in the table. */
interface Listed {
  readonly txQueue: number;
  readonly rxQueue: number;
  readonly at: number;
}

/** The ESTABLISHED (01) line whose `local rem` fields are local and remote: its tx_queue and rx_queue, and where it starts in the table. */
function findLine(table: string, local: Endpoint, remote: Endpoint): Listed | undefined {
  if (isIPv4(local.address) && isIPv4(remote.address)) {
    // `%08X:%04X %08X:%04X %02X %08X:%08X`: found as a whole, without splitting every line of the host's table.
    const key = `${endpointKey(local, true)} ${endpointKey(remote, true)} 01 `;
    const at = table.indexOf(key);
    if (at === -1) return undefined;
    const queues = table.slice(at + key.length, at + key.length + 17);
    return { txQueue: parseInt(queues.slice(0, 8), 16), rxQueue: parseInt(queues.slice(9), 16), at };
  }
  const localKey = endpointKey(local, false);
  const remoteKey = endpointKey(remote, false);
  let at = 0;
  for (const line of table.split('\n')) {
    const [, localField, remoteField, state, queues] = line.trim().split(/\s+/);
    if (state === '01' && localField?.endsWith(localKey) && remoteField?.endsWith(remoteKey)) {
      const [tx, rx] = queues!.split(':');
      return { txQueue: parseInt(tx!, 16), rxQueue: parseInt(rx!, 16), at };
    }
    at += line.length + 1;
  }
  return undefined;
}

/** How long one read of the table serves: every destination's watchdog asks on its tick, and the table lists every socket of the host. */
const TABLE_SHARED_MS = 100;
/** A read of the table; `startedAt` (performance.now()) is when the read began: everything written before is in it. */
interface Table {
  readonly text: string;
  readonly startedAt: number;
}
const tables = new Map<string, Table>();

function readFresh(path: string): Table {
  const startedAt = performance.now();
  const table = { text: readFileSync(path, 'utf8'), startedAt };
  tables.set(path, table);
  return table;
}

/** The connection's line, from the shared read of the table, or from a fresh read when that one does not list it (a newer connection). */
function lookUp(local: Endpoint, remote: Endpoint): { table: Table; line: Listed } | undefined {
  const path = isIPv4(local.address) ? '/proc/net/tcp' : '/proc/net/tcp6';
  try {
    const kept = tables.get(path);
    const shared = kept !== undefined && performance.now() - kept.startedAt < TABLE_SHARED_MS ? kept : undefined;
    const sharedLine = shared && findLine(shared.text, local, remote);
    if (shared && sharedLine) return { table: shared, line: sharedLine };
    const table = readFresh(path);
    const line = findLine(table.text, local, remote);
    return line && { table, line };
  } catch {
    return undefined;
  }
}

/**
 * Bytes in the connection's send queue; undefined when it cannot be read (not Linux) or the connection
 * is not listed. The table is read once for every connection that asks within TABLE_SHARED_MS; one it
 * does not list yet (newer than that read) reads it again.
 */
export function readSendQueue(local: Endpoint, remote: Endpoint, read?: (path: string) => string): number | undefined {
  try {
    if (read === undefined) return diagQueues ? diagQueues(local, remote)?.sendQueue : lookUp(local, remote)?.line.txQueue;
    return findLine(read(isIPv4(local.address) ? '/proc/net/tcp' : '/proc/net/tcp6'), local, remote)?.txQueue;
  } catch {
    return undefined;
  }
}

/** Whether a connection's queues cost microseconds to read (the sock_diag addon), not a walk of the kernel's connection hash. */
export const unreadIsCheap = diagQueues !== undefined;

/** What a connection holds that the peer's process has not read, from one look at the kernel's counts. */
export interface UnreadBytes {
  /** performance.now() when the look began: every byte written before is counted in it. */
  readonly readStartedAt: number;
  /** Our send queue: written and not acknowledged by the peer. */
  readonly sendQueue: number;
  /** The peer's receive queue (acknowledged, not read by its process) when its end is a socket of this host; undefined when it is not listed (another host). */
  readonly peerUnread: number | undefined;
  /**
   * The kernel writes the table line by line while the connection moves on: the peer's line listed
   * before ours was read earlier, and bytes that went from our send queue to the peer's receive
   * queue in between are in neither. Ours listed first, what moves in between is counted twice.
   * The addon looks ours up first.
   */
  readonly peerListedFirst: boolean;
}

/** Undefined when the connection is not listed; throws when the kernel refuses the addon's request. */
export function readUnread(local: Endpoint, remote: Endpoint): UnreadBytes | undefined {
  if (diagQueues) {
    const readStartedAt = performance.now();
    const ours = diagQueues(local, remote);
    return ours && { readStartedAt, sendQueue: ours.sendQueue, peerUnread: diagQueues(remote, local)?.receiveQueue, peerListedFirst: false };
  }
  const ours = lookUp(local, remote);
  if (!ours) return undefined;
  const peer = findLine(ours.table.text, remote, local);
  return {
    readStartedAt: ours.table.startedAt,
    sendQueue: ours.line.txQueue,
    peerUnread: peer?.rxQueue,
    peerListedFirst: peer !== undefined && peer.at < ours.line.at,
  };
}
