// Where the gateway's API keys live: the contract every store keeps (openKeyStore in open-store.ts
// picks one). Every store keeps the original's meaning, name -> key (Consul KV
// `polymur/gateway/keys/<name>` = `<key>` in the Go original); the value is the key or its hash
// (entry.ts).
import { PolymurError, type ErrorCode } from '../errors.js';

export interface KeyStore {
  /** A description for messages: "file /etc/polymur/keys.json", "etcd 10.0.0.1:2379". */
  readonly description: string;
  /** name -> entry; KeyStoreMissing when the store itself is not there (a key file not created yet). */
  list(): Promise<Map<string, string>>;
  get(name: string): Promise<string | undefined>;
  /**
   * Writes the entry in one atomic step with its condition, so that concurrent writers cannot undo
   * each other: only when the name is 'absent' (create) or 'present' (regen), or still holds the
   * value read (`{ value }`: a read-modify-write, update-record.ts), or always. Returns whether it wrote.
   */
  put(name: string, entry: string, only?: PutCondition): Promise<boolean>;
  delete(name: string): Promise<boolean>;
  /**
   * Many puts as one write, where a store rewrites itself whole on every put (a file): each entry
   * with the same condition ('absent', or always), the names written returned. Stores without it
   * take one put per entry.
   */
  putAll?(entries: ReadonlyMap<string, string>, only?: 'absent'): Promise<Set<string>>;
  /** What an operator should fix, checked once at the gateway's start (a key file others can read). */
  audit?(): Promise<string[]>;
  /**
   * Calls back when the store may have changed, and with what broke the watch (the periodic refresh
   * still picks changes up); returns the unsubscribe function.
   */
  watch?(onChange: () => void, onError: (err: Error) => void): () => void;
  close(): Promise<void>;
}

/** When a put writes: see KeyStore.put. */
export type PutCondition = 'absent' | 'present' | { readonly value: string };

export class KeyStoreError extends PolymurError {
  readonly code: ErrorCode = 'POLYMUR_ERR_KEY_STORE';
}

/** The store does not exist (yet): no key file. A gateway starts with no keys; polymur-keys create makes it. */
export class KeyStoreMissing extends KeyStoreError {
  override readonly code = 'POLYMUR_ERR_KEY_STORE_MISSING';
}

/** The original's key layout in a key-value store. */
export const DEFAULT_KEY_PREFIX = 'polymur/gateway/keys/';

/** Splits "scheme://host:port,host:port/prefix" into endpoints and a key prefix ending in "/". */
export function parseStoreUrl(url: string): { endpoints: string[]; prefix: string } {
  const rest = url.slice(url.indexOf('://') + 3);
  const slash = rest.indexOf('/');
  const hosts = slash === -1 ? rest : rest.slice(0, slash);
  const path = slash === -1 ? '' : rest.slice(slash + 1);
  const endpoints = hosts.split(',').filter((h) => h.length > 0);
  if (endpoints.length === 0) throw new KeyStoreError(`key store "${url}" names no host`);
  const prefix = path === '' ? DEFAULT_KEY_PREFIX : path.endsWith('/') ? path : `${path}/`;
  return { endpoints, prefix };
}
