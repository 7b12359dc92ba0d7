// The gateway's view of the keys: key -> name, reloaded from the store every refreshMs and when
// the store reports a change. Lookups go through SHA-256 of the presented key, so the time a
// lookup takes does not depend on how much of a real key an attacker has guessed.
import { createHash } from 'node:crypto';
import type { Stage } from '../lifecycle/stage.js';
import type { Registry } from '../observe/metrics.js';
import type { KeyStore } from './store.js';

/** close() stops the reloads and closes the store; destroy() stops the reloads, the store closes on its own time. */
export interface KeyCache extends Stage {
  /** The name of the key's owner, or undefined for an unknown key. */
  lookup(key: string): string | undefined;
  start(): Promise<void>;
  refresh(): Promise<void>;
  size(): number;
}

function digest(key: string): string {
  return createHash('sha256').update(key).digest('base64');
}

function index(keys: Map<string, string>): Map<string, string> {
  const byDigest = new Map<string, string>();
  for (const [name, key] of keys) byDigest.set(digest(key), name);
  return byDigest;
}

export function createKeyCache(opts: {
  store: KeyStore;
  refreshMs?: number;
  log: (m: string) => void;
  metrics?: Registry;
}): KeyCache {
  let byDigest = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;
  let unwatch: (() => void) | undefined;
  const errors = opts.metrics?.counter('polymur_key_refresh_errors_total', 'Failed reloads of the API key store');
  opts.metrics?.gauge('polymur_keys', 'API keys known to the gateway', () => byDigest.size);

  const load = async (): Promise<void> => {
    const next = index(await opts.store.list());
    let added = 0;
    let removed = 0;
    for (const d of next.keys()) if (!byDigest.has(d)) added++;
    for (const d of byDigest.keys()) if (!next.has(d)) removed++;
    byDigest = next;
    if (added > 0 || removed > 0) opts.log(`API keys refreshed: ${added} new, ${removed} removed`);
  };

  // Reloads take turns: two overlapping reads could finish out of order and put an older key set
  // (a revoked key) back. Requests made while one waits share it; it reads after they were made.
  let last: Promise<void> = Promise.resolve();
  let waiting: Promise<void> | undefined;
  const refresh = (): Promise<void> => {
    if (waiting) return waiting;
    const next = last
      .catch(() => undefined)
      .then(() => {
        waiting = undefined;
        return load();
      });
    waiting = next;
    last = next;
    return next;
  };

  const refreshKeepingOld = (): void => {
    refresh().catch((err: unknown) => {
      errors?.inc();
      opts.log(`API key refresh from ${opts.store.description} failed, keeping the ${byDigest.size} known keys: ${(err as Error).message}`);
    });
  };

  let closing: Promise<void> | undefined;
  const stopReloads = (): void => {
    if (timer) clearInterval(timer);
    unwatch?.();
    unwatch = undefined;
  };

  return {
    lookup: (key) => byDigest.get(digest(key)),
    async start() {
      await refresh();
      timer = setInterval(refreshKeepingOld, opts.refreshMs ?? 30_000);
      timer.unref();
      unwatch = opts.store.watch?.(refreshKeepingOld);
    },
    refresh,
    size: () => byDigest.size,
    close() {
      closing ??= (async () => {
        stopReloads();
        await opts.store.close();
      })();
      return closing;
    },
    destroy() {
      stopReloads();
      closing ??= opts.store.close().catch((err: unknown) => opts.log(`Closing the key store ${opts.store.description} failed: ${(err as Error).message}`));
    },
  };
}

/** -dev-mode: fixed keys, no store. */
export function createStaticKeys(keys: Map<string, string>): KeyCache {
  const byDigest = index(keys);
  return {
    lookup: (key) => byDigest.get(digest(key)),
    start: async () => undefined,
    refresh: async () => undefined,
    size: () => byDigest.size,
    close: async () => undefined,
    destroy: () => undefined,
  };
}
