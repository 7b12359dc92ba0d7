// A gateway answering 401 may mean the key was rotated and the old one retired: the new key is
// then in -api-key-file already (the operator wrote it there before `retire`), so the proxy reads
// the file again and, when the key in it changed, the refused batch is sent again at once with it.
// Re-reads are rate-limited: a gateway answering 401 to everything makes the proxy read the file
// at most once per interval, and every worker refused meanwhile waits for that one read.
import { rateLimitedLog } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';

/** Re-reads the key file now; true when the key in it changed (and was handed to the forwarder). */
export type KeyReread = () => boolean;

/** At most one read of the file per this interval, whatever the gateway answers. */
export const REREAD_MIN_INTERVAL_MS = 1000;

/**
 * Called by a worker whose batch got a 401, with the forwarder's stop signal; resolves once the
 * file was read (or the signal aborted). Workers refused at the same time share one read.
 */
export type RereadOnRefusal = (signal: AbortSignal) => Promise<void>;

export function createRereadOnRefusal(opts: {
  reread: KeyReread;
  /** What is re-read, for the log: "-api-key-file /etc/polymur/api.key". */
  what: string;
  metrics: Registry;
  log: (m: string) => void;
  minIntervalMs?: number;
  now?: () => number;
}): RereadOnRefusal {
  const minIntervalMs = opts.minIntervalMs ?? REREAD_MIN_INTERVAL_MS;
  const now = opts.now ?? Date.now;
  const rereads = opts.metrics.counter('polymur_api_key_rereads_total', 'Re-reads of -api-key-file after a gateway refused the key, by result', [
    { result: 'changed' },
    { result: 'unchanged' },
    { result: 'failed' },
  ]);
  const failureLog = rateLimitedLog(opts.log);
  let lastReadAt = -Infinity;
  let pending: Promise<void> | undefined;

  const readNow = (): void => {
    lastReadAt = now();
    try {
      if (opts.reread()) {
        rereads.inc(1, { result: 'changed' });
        opts.log(`The gateway refused the API key; ${opts.what} holds a new one: sending with it from now on`);
      } else {
        rereads.inc(1, { result: 'unchanged' });
      }
    } catch (err) {
      rereads.inc(1, { result: 'failed' });
      failureLog(`The gateway refused the API key; re-reading ${opts.what} failed, keeping the old key: ${(err as Error).message}`);
    }
  };

  return (signal) => {
    pending ??= new Promise<void>((resolve) => {
      const waitMs = Math.max(0, lastReadAt + minIntervalMs - now());
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        pending = undefined;
        if (!signal.aborted) readNow();
        resolve();
      };
      // Referenced, as the forwarder's retry pauses: a refused batch waiting here is work in hand.
      const timer = setTimeout(done, waitMs);
      signal.addEventListener('abort', done, { once: true });
    });
    return pending;
  };
}
