// How many bytes one TCP connection can hold that the receiving process has not read: bytes
// written to a socket sit in our kernel's send queue until the peer acknowledges them, then in the
// peer's receive queue until its process reads them. Linux autotunes both buffers, up to the
// maxima of net.ipv4.tcp_wmem (ours) and net.ipv4.tcp_rmem (the peer's; we take this host's, as
// relays and their carbon hosts usually share one configuration). A socket that sets SO_SNDBUF or
// SO_RCVBUF itself gets up to twice net.core.wmem_max / rmem_max (the kernel doubles the value
// asked for): the larger of each pair counts.
import { readFileSync } from 'node:fs';

export interface SocketBufferLimits {
  /** Most payload our send queue holds. */
  readonly sendBytes: number;
  /** Most payload the peer's receive queue holds. */
  readonly receiveBytes: number;
  /** Where the figures come from, for the log. */
  readonly source: string;
}

/** The kernel's maxima, or undefined where they cannot be read (not Linux). */
export function readSocketBufferLimits(read: (path: string) => string = (p) => readFileSync(p, 'utf8')): SocketBufferLimits | undefined {
  const value = (path: string, field: number): number | undefined => {
    try {
      const n = Number(read(path).trim().split(/\s+/)[field]);
      return Number.isSafeInteger(n) && n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };
  const tcpWmem = value('/proc/sys/net/ipv4/tcp_wmem', 2);
  const tcpRmem = value('/proc/sys/net/ipv4/tcp_rmem', 2);
  if (tcpWmem === undefined || tcpRmem === undefined) return undefined;
  return {
    sendBytes: Math.max(tcpWmem, 2 * (value('/proc/sys/net/core/wmem_max', 0) ?? 0)),
    receiveBytes: Math.max(tcpRmem, 2 * (value('/proc/sys/net/core/rmem_max', 0) ?? 0)),
    source: 'the maxima of net.ipv4.tcp_wmem and tcp_rmem (twice net.core.wmem_max and rmem_max where larger)',
  };
}
