// The sock_diag addon (native/tcp-diag/, built at install): one connection's queues by its two
// ends, looked up in the kernel's connection hash in microseconds. Where it is not built (no
// compiler, not Linux), send-queue.ts reads /proc/net/tcp instead.
import { loadAddon } from '../native-addon.js';

/** One end of a connection. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** [receive queue, send queue] of the ESTABLISHED connection from `local` to `remote`; undefined when there is none. */
type Queues = (localAddress: string, localPort: number, remoteAddress: string, remotePort: number) => [number, number] | undefined;

const native = loadAddon<{ queues: Queues }>('tcp-diag/build/Release/polymur_tcp_diag.node');

/** The connection's queues by the addon; undefined where it is not built. Throws when the kernel refuses the request. */
export const diagQueues: ((local: Endpoint, remote: Endpoint) => { readonly receiveQueue: number; readonly sendQueue: number } | undefined) | undefined =
  'exports' in native
    ? (local, remote) => {
        const q = native.exports.queues(local.address, local.port, remote.address, remote.port);
        return q && { receiveQueue: q[0], sendQueue: q[1] };
      }
    : undefined;

/** How the queues are read, for the start-up log. */
export const queuesSource: string =
  'exports' in native ? 'sock_diag by the native addon' : `/proc/net/tcp (the sock_diag addon is not built: ${native.error}; npm run build:native builds it)`;
