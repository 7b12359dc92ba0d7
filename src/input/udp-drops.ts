// The kernel's drop count of one UDP socket, from /proc/net/udp or /proc/net/udp6 (Node gives no
// socket descriptor to ask for SO_RXQ_OVFL, so the socket is found by the address it is bound to:
// no other socket can hold the same one, SO_REUSEADDR being off).
//
// A row: `sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
// ref pointer drops`; local_address is `ADDR:PORT` in hex, ADDR as the kernel's 32-bit words
// printed in host byte order (little-endian here: 127.0.0.1 is 0100007F).
import { endianness } from 'node:os';
import { canonicalHost } from '../net/address.js';

const LITTLE_ENDIAN = endianness() === 'LE';

/** The address of a row's hex ADDR: 8 digits for IPv4, 32 for IPv6. */
function hexAddress(hex: string): string | undefined {
  if ((hex.length !== 8 && hex.length !== 32) || !/^[0-9A-Fa-f]+$/.test(hex)) return undefined;
  const bytes = Buffer.from(hex, 'hex');
  if (LITTLE_ENDIAN) for (let word = 0; word < bytes.length; word += 4) bytes.subarray(word, word + 4).reverse();
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(bytes.readUInt16BE(i).toString(16));
  return canonicalHost(groups.join(':'));
}

/** The drops of the socket bound to host:port (host canonical, see canonicalHost), undefined when none is listed. */
export function readUdpDrops(table: string, bound: { readonly host: string; readonly port: number }): number | undefined {
  for (const row of table.split('\n').slice(1)) {
    const fields = row.trim().split(/\s+/);
    const local = fields[1];
    const drops = fields[12];
    if (local === undefined || drops === undefined) continue;
    const colon = local.indexOf(':');
    if (parseInt(local.slice(colon + 1), 16) !== bound.port) continue;
    if (hexAddress(local.slice(0, colon)) !== bound.host) continue;
    return Number(drops);
  }
  return undefined;
}
