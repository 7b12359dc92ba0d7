// Errors on sockets whose end is handled elsewhere: the 'close' that follows ends a client's
// connection, a destination writer reconnects. Without an 'error' listener Node would throw;
// with an empty one a storm of resets would be invisible. So each is counted, by where it
// happened and its errno code (a known set, the rest as "other", so the label stays bounded),
// and, where an operator can act on it, logged rate-limited.
import { rateLimitedLog, type LogFn } from './log.js';
import type { Registry } from './metrics.js';

/** The sockets counted: clients of the Graphite listener and of the gateway, connections to destinations, the stat and API ports' clients. */
export type SocketPlace = 'listener' | 'gateway' | 'destination' | 'stat-port' | 'api-port';

/** The codes a socket error label shows; any other is counted as "other". */
export const SOCKET_ERROR_CODES: ReadonlySet<string> = new Set([
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ECONNABORTED',
  'ECONNREFUSED',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'EADDRNOTAVAIL',
  'ENOBUFS',
  'ENOMEM',
  'EMFILE',
  'ENFILE',
  'ERR_STREAM_DESTROYED',
  'ERR_STREAM_WRITE_AFTER_END',
]);

const METRIC = 'polymur_socket_errors_total';
const HELP = 'Errors on sockets (the connection is closed, or reconnected for a destination), by where and errno code ("other" for an unusual one)';

/** The label of an error: its errno code when known, else "other". */
export function socketErrorCode(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && SOCKET_ERROR_CODES.has(code) ? code : 'other';
}

/** An 'error' listener for sockets of `where`: counts each error; with `log`, also logs it (at most 3 lines a minute). */
export function socketErrorCounter(metrics: Registry, where: SocketPlace, log?: LogFn): (err: Error) => void {
  const counter = metrics.counter(METRIC, HELP, [{ where, code: 'ECONNRESET' }]);
  const said = log && rateLimitedLog(log, 3, 60_000);
  return (err) => {
    const code = socketErrorCode(err);
    counter.inc(1, { where, code });
    said?.(`Socket error (${where}): ${code === 'other' ? `${(err as NodeJS.ErrnoException).code ?? err.name}: ` : ''}${err.message}; connection closed`);
  };
}
