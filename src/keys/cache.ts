// The gateway's view of the keys: key -> name, reloaded from the store every refreshMs and when
// the store reports a change (refreshMs 0: neither, only refresh() calls: at start and on SIGHUP). Lookups go through SHA-256 of the presented key, so the time a
// lookup takes does not depend on how much of a real key an attacker has guessed; hashed entries
// (`sha256:…`, see entry.ts) are indexed by their digest directly, plaintext ones by theirs.
import type { Stage } from '../lifecycle/stage.js';
import type { Registry } from '../observe/metrics.js';
import { entryDigest, keyDigest } from './entry.js';
import { KeyStoreMissing, type KeyStore } from './store.js';

/** close() stops the reloads and closes the store; destroy() stops the reloads, the store closes on its own time. */
export interface KeyCache extends Stage {
  /** The name of the key's owner, or undefined for an unknown (or empty) key. */
  lookup(key: string): string | undefined;
  start(): Promise<void>;
  /** Reads the store now; rejects (keeping the known keys) when it cannot. */
  refresh(): Promise<KeyChanges>;
  size(): number;
  /** True once one load from the store has succeeded (readiness: a gateway without keys refuses every batch). */
  loaded(): boolean;
}

/** What one refresh changed. */
export interface KeyChanges {
  readonly added: number;
  readonly removed: number;
  /** Keys known after it. */
  readonly known: number;
}

/** digest -> name; entries that authenticate nothing (an empty key) are left out and reported. */
function index(entries: Map<string, string>, unusable: (name: string, why: string) => void): Map<string, string> {
  const byDigest = new Map<string, string>();
  for (const [name, entry] of entries) {
    const d = entryDigest(entry);
    if ('digest' in d) byDigest.set(d.digest, name);
    else unusable(name, d.unusable);
  }
  return byDigest;
}

function find(byDigest: Map<string, string>, key: string): string | undefined {
  // An empty header is refused before hashing: its length is no secret, and no entry may match it.
  return key === '' ? undefined : byDigest.get(keyDigest(key));
}

export function createKeyCache(opts: {
  store: KeyStore;
  refreshMs?: number;
  log: (m: string) => void;
  metrics?: Registry;
}): KeyCache {
  let byDigest = new Map<string, string>();
  let loaded = false;
  let timer: NodeJS.Timeout | undefined;
  let unwatch: (() => void) | undefined;
  // What was last said about the store, so a lasting problem is logged once, not every refresh.
  let lastFailure: string | undefined;
  let lastUnusable = '';
  const errors = opts.metrics?.counter('polymur_key_refresh_errors_total', 'Failed reloads of the API key store');
  opts.metrics?.gauge('polymur_keys', 'API keys known to the gateway', () => byDigest.size);

  const load = async (): Promise<KeyChanges> => {
    opts.log('Running API key sync');
    const unusable: string[] = [];
    const next = index(await opts.store.list(), (name, why) => unusable.push(`"${name}" (${why})`));
    const said = unusable.join(', ');
    if (said !== lastUnusable && said !== '') opts.log(`API key store ${opts.store.description}: entries that authenticate nothing: ${said}`);
    lastUnusable = said;
    let added = 0;
    let removed = 0;
    for (const d of next.keys()) if (!byDigest.has(d)) added++;
    for (const d of byDigest.keys()) if (!next.has(d)) removed++;
    byDigest = next;
    loaded = true;
    if (lastFailure !== undefined) opts.log(`API key store ${opts.store.description} is readable again`);
    lastFailure = undefined;
    // After every sync, changes or not, as the original: scrapers watch for it.
    opts.log(`API keys refreshed: ${added} new, ${removed} removed`);
    return { added, removed, known: next.size };
  };

  // Reloads take turns: two overlapping reads could finish out of order and put an older key set
  // (a revoked key) back. Requests made while one waits share it; it reads after they were made.
  let last: Promise<unknown> = Promise.resolve();
  let waiting: Promise<KeyChanges> | undefined;
  const refresh = (): Promise<KeyChanges> => {
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
      const message = (err as Error).message;
      if (message !== lastFailure) {
        opts.log(`API key refresh from ${opts.store.description} failed, keeping the ${byDigest.size} known keys: ${message}`);
      }
      lastFailure = message;
    });
  };

  let closing: Promise<void> | undefined;
  const stopReloads = (): void => {
    if (timer) clearInterval(timer);
    unwatch?.();
    unwatch = undefined;
  };

  return {
    lookup: (key) => find(byDigest, key),
    async start() {
      for (const warning of (await opts.store.audit?.()) ?? []) opts.log(`WARNING: ${warning}`);
      try {
        await refresh();
      } catch (err) {
        // A store that is not there yet (the first key not created) is no reason not to start;
        // a store that is there but broken is.
        if (!(err instanceof KeyStoreMissing)) throw err;
        errors?.inc();
        lastFailure = err.message;
        opts.log(`WARNING: ${err.message}: every key is refused until it is created`);
      }
      const refreshMs = opts.refreshMs ?? 30_000;
      if (refreshMs === 0) return;
      timer = setInterval(refreshKeepingOld, refreshMs);
      timer.unref();
      unwatch = opts.store.watch?.(refreshKeepingOld);
    },
    refresh,
    size: () => byDigest.size,
    loaded: () => loaded,
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
  const byDigest = index(keys, () => undefined);
  return {
    lookup: (key) => find(byDigest, key),
    start: async () => undefined,
    refresh: async () => ({ added: 0, removed: 0, known: byDigest.size }),
    size: () => byDigest.size,
    loaded: () => true,
    close: async () => undefined,
    destroy: () => undefined,
  };
}
