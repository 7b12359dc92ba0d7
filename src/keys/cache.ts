// The gateway's view of the keys: key -> name, reloaded from the store every refreshMs and when
// the store reports a change (refreshMs 0: neither, only refresh() calls: at start and on SIGHUP). Lookups go through SHA-256 of the presented key, so the time a
// lookup takes does not depend on how much of a real key an attacker has guessed; hashed entries
// (`sha256:…`, see entry.ts) are indexed by their digest directly, plaintext ones by theirs.
import type { Stage } from '../lifecycle/stage.js';
import { rateLimitedLog } from '../observe/log.js';
import type { Registry } from '../observe/metrics.js';
import { entryDigest, keyDigest } from './entry.js';
import type { KeyCopy } from './last-known-good.js';
import { keyLive, parseRecord, type KeyRecord, type StoredKey } from './record.js';
import { KeyStoreError, KeyStoreMissing, type KeyStore } from './store.js';

/** close() stops the reloads and closes the store; destroy() stops the reloads, the store closes on its own time. */
export interface KeyCache extends Stage {
  /** The name of the key's owner, or undefined for an unknown, empty or expired key. */
  lookup(key: string): string | undefined;
  /** The stored record of a name (limits, allowed prefixes, its keys), or undefined for an unknown name. */
  record(name: string): KeyRecord | undefined;
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

/** What the cache knows: each usable key's digest, and each name's record. */
interface KeyIndex {
  readonly byDigest: Map<string, { readonly name: string; readonly key: StoredKey }>;
  readonly records: Map<string, KeyRecord>;
}

/** Indexes the store's values; values that authenticate nothing (an empty key, bad JSON) are left out and reported. */
function index(entries: Map<string, string>, unusable: (name: string, why: string) => void): KeyIndex {
  const byDigest = new Map<string, { name: string; key: StoredKey }>();
  const records = new Map<string, KeyRecord>();
  for (const [name, value] of entries) {
    const parsed = parseRecord(value);
    if ('unusable' in parsed) {
      unusable(name, parsed.unusable);
      continue;
    }
    records.set(name, parsed.record);
    for (const key of parsed.record.keys) {
      const d = entryDigest(key.key);
      if ('digest' in d) byDigest.set(d.digest, { name, key });
    }
  }
  return { byDigest, records };
}

/** Whether two reads of the store hold the same names with the same values. */
function sameEntries(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, value] of a) if (b.get(name) !== value) return false;
  return true;
}

/**
 * The name a presented key belongs to, if it is known and not expired. `expired` hears of an
 * expired key each time it is presented (the caller logs once per key).
 */
function find(known: KeyIndex, key: string, nowMs: number, expired?: (name: string, key: StoredKey) => void): string | undefined {
  // An empty header is refused before hashing: its length is no secret, and no entry may match it.
  if (key === '') return undefined;
  const hit = known.byDigest.get(keyDigest(key));
  if (hit === undefined) return undefined;
  if (keyLive(hit.key, nowMs)) return hit.name;
  expired?.(hit.name, hit.key);
  return undefined;
}

export function createKeyCache(opts: {
  store: KeyStore;
  refreshMs?: number;
  log: (m: string) => void;
  metrics?: Registry;
  /** The clock key expiry is judged by (tests inject one). */
  now?: () => number;
  /**
   * A remote store's last-known-good copy: saved after every read, started from when the store
   * cannot be read at start. Undefined: no copy (no state directory); such a start fails.
   */
  copy?: KeyCopy;
  /** For a remote store kept without a copy: how to get one, said when the start fails (a file store needs none). */
  noCopyHint?: string;
}): KeyCache {
  const now = opts.now ?? Date.now;
  let known: KeyIndex = { byDigest: new Map(), records: new Map() };
  /** The store's entries `known` was built from; undefined until a read of the store (a last-known-good start is not one). */
  let indexed: ReadonlyMap<string, string> | undefined;
  // Expired keys already logged, so a client retrying with one is logged once, not per request.
  const expiredLogged = new Set<string>();
  const expired = (name: string, key: StoredKey): void => {
    if (expiredLogged.has(key.key)) return;
    expiredLogged.add(key.key);
    opts.log(`API key of ${name} expired at ${key.expires}: refused like an unknown key`);
  };
  let loaded = false;
  let timer: NodeJS.Timeout | undefined;
  let unwatch: (() => void) | undefined;
  // What was last said about the store, so a lasting problem is logged once, not every refresh.
  let lastFailure: string | undefined;
  let lastUnusable = '';
  let storeUp = false;
  let lastCopyFailure: string | undefined;
  const errors = opts.metrics?.counter('polymur_key_refresh_errors_total', 'Failed reloads of the API key store');
  const watchErrors = opts.metrics?.counter('polymur_key_watch_errors_total', "Errors of the key store's change watch (the periodic -key-refresh still reads the store)");
  const watchErrorLog = rateLimitedLog(opts.log, 1, 60_000);
  const watchFailed = (err: Error): void => {
    watchErrors?.inc();
    watchErrorLog(`Watching the API key store ${opts.store.description} failed (every -key-refresh still reads it): ${err.message}`);
  };
  opts.metrics?.gauge('polymur_keys', 'API keys known to the gateway', () => known.byDigest.size);
  opts.metrics?.gauge('polymur_key_store_up', 'Whether the last read of the API key store succeeded (1) or failed (0)', () => (storeUp ? 1 : 0));

  const saveCopy = (entries: ReadonlyMap<string, string>): void => {
    try {
      opts.copy?.save(entries);
      lastCopyFailure = undefined;
    } catch (err) {
      const message = (err as Error).message;
      if (message !== lastCopyFailure) opts.log(`WARNING: ${message}`);
      lastCopyFailure = message;
    }
  };

  const load = async (): Promise<KeyChanges> => {
    opts.log('Running API key sync');
    const entries = await opts.store.list();
    saveCopy(entries);
    let added = 0;
    let removed = 0;
    // A store read as it was the last time (most reloads) keeps the index: no entry parsed and no
    // index built again, which for 10,000 keys held the event loop some 100 ms every -key-refresh.
    if (indexed === undefined || !sameEntries(entries, indexed)) {
      const unusable: string[] = [];
      const next = index(entries, (name, why) => unusable.push(`"${name}" (${why})`));
      const said = unusable.join(', ');
      if (said !== lastUnusable && said !== '') opts.log(`API key store ${opts.store.description}: entries that authenticate nothing: ${said}`);
      lastUnusable = said;
      for (const d of next.byDigest.keys()) if (!known.byDigest.has(d)) added++;
      for (const d of known.byDigest.keys()) if (!next.byDigest.has(d)) removed++;
      known = next;
      indexed = entries;
    }
    loaded = true;
    storeUp = true;
    if (lastFailure !== undefined) opts.log(`API key store ${opts.store.description} is readable again`);
    lastFailure = undefined;
    // After every sync, changes or not, as the original: scrapers watch for it.
    opts.log(`API keys refreshed: ${added} new, ${removed} removed`);
    return { added, removed, known: known.byDigest.size };
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
      storeUp = false;
      const message = (err as Error).message;
      // Once when the store goes away (and once when it is back, in load()), however long it stays away.
      if (lastFailure === undefined) {
        opts.log(`API key refresh from ${opts.store.description} failed, keeping the ${known.byDigest.size} known keys: ${message}`);
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
    lookup: (key) => find(known, key, now(), expired),
    record: (name) => known.records.get(name),
    async start() {
      for (const warning of (await opts.store.audit?.()) ?? []) opts.log(`WARNING: ${warning}`);
      try {
        await refresh();
      } catch (err) {
        // A store that is not there yet (the first key not created) is no reason not to start;
        // a store that is there but unreachable is, unless its last-known-good copy stands in.
        errors?.inc();
        if (!(err instanceof KeyStoreMissing)) {
          if (!(err instanceof KeyStoreError) || (opts.copy === undefined && opts.noCopyHint === undefined)) throw err;
          const saved = opts.copy?.load();
          if (saved === undefined) {
            const why = opts.copy ? `no last-known-good key copy at ${opts.copy.path} yet` : `no last-known-good key copy (${opts.noCopyHint})`;
            throw new KeyStoreError(`${err.message}; ${why}`);
          }
          known = index(saved.entries, () => undefined);
          loaded = true;
          opts.log(
            `WARNING: ${err.message}; starting from the last-known-good key copy ${opts.copy!.path} (${known.byDigest.size} keys, saved ${saved.savedAt.toISOString()}) until the store answers`,
          );
        } else {
          opts.log(`WARNING: ${err.message}: every key is refused until it is created`);
        }
        lastFailure = (err as Error).message;
      }
      const refreshMs = opts.refreshMs ?? 30_000;
      if (refreshMs === 0) return;
      timer = setInterval(refreshKeepingOld, refreshMs);
      timer.unref();
      unwatch = opts.store.watch?.(refreshKeepingOld, watchFailed);
    },
    refresh,
    size: () => known.byDigest.size,
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
  const known = index(keys, () => undefined);
  return {
    lookup: (key) => find(known, key, Date.now()),
    record: (name) => known.records.get(name),
    start: async () => undefined,
    refresh: async () => ({ added: 0, removed: 0, known: known.byDigest.size }),
    size: () => known.byDigest.size,
    loaded: () => true,
    close: async () => undefined,
    destroy: () => undefined,
  };
}
