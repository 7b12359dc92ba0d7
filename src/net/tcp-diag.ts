// The sock_diag addon (native/tcp-diag/, built at install): one connection's queues by its two
// ends, looked up in the kernel's connection hash in microseconds. Where it is not built (no
// compiler, not Linux), send-queue.ts reads /proc/net/tcp instead.
import { createRequire } from 'node:module';

/** One end of a connection. */
export interface Endpoint {
  readonly address: string;
  readonly port: number;
}

/** [receive queue, send queue] of the ESTABLISHED connection from `local` to `remote`; undefined when there is none. */
type Queues = (localAddress: string, localPort: number, remoteAddress: string, remotePort: number) => [number, number] | undefined;

/** Where `npm install` builds the addon (scripts/build-native.mjs), from dist/src/net/. */
const TCP_DIAG_ADDON = '../../../native/tcp-diag/build/Release/polymur_tcp_diag.node';

function loadNative(): { queues: Queues } | { error: string } {
  try {
    return createRequire(import.meta.url)(TCP_DIAG_ADDON) as { queues: Queues };
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0]! };
  }
}

const native = loadNative();

/** The connection's queues by the addon; undefined where it is not built. Throws when the kernel refuses the request. */
export const diagQueues: ((local: Endpoint, remote: Endpoint) => { readonly receiveQueue: number; readonly sendQueue: number } | undefined) | undefined =
  'queues' in native
    ? (local, remote) => {
        const q = native.queues(local.address, local.port, remote.address, remote.port);
        return q && { receiveQueue: q[0], sendQueue: q[1] };
      }
    : undefined;

/** How the queues are read, for the start-up log. */
export const queuesSource: string =
  'queues' in native ? 'sock_diag by the native addon' : `/proc/net/tcp (the sock_diag addon is not built: ${native.error}; npm run build:native builds it)`;
