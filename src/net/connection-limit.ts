// -max-connections-per-ip: how many connections one client address may hold at once, so that one
// host opening thousands of idle connections cannot take every slot of -max-connections.
import type { Socket } from 'node:net';
import { plainAddress } from './trusted-proxies.js';

export interface ConnectionLimit {
  /** Counts the socket against its address until it closes; false (not counted) when that address is at the limit. */
  admit(socket: Socket): boolean;
  /** The log line for a socket admit() refused. */
  refusal(socket: Socket): string;
}

/** maxPerAddress 0: no limit. `exempt` addresses (trusted load balancers) are never limited. */
export function createConnectionLimit(maxPerAddress: number, exempt: (address: string) => boolean = () => false): ConnectionLimit {
  const open = new Map<string, number>();
  return {
    admit(socket) {
      const address = plainAddress(socket.remoteAddress ?? '');
      if (maxPerAddress === 0 || exempt(address)) return true;
      const n = open.get(address) ?? 0;
      if (n >= maxPerAddress) return false;
      open.set(address, n + 1);
      socket.once('close', () => {
        const left = open.get(address)! - 1;
        if (left === 0) open.delete(address);
        else open.set(address, left);
      });
      return true;
    },
    refusal: (socket) =>
      `Connection from ${socket.remoteAddress}:${socket.remotePort} refused: ${open.get(plainAddress(socket.remoteAddress ?? '')) ?? 0} open from that address (-max-connections-per-ip ${maxPerAddress})`,
  };
}
