// Where the gateway's API keys live. Every store keeps the original's meaning, name -> key
// (Consul KV `polymur/gateway/keys/<name>` = `<key>` in the Go original).
import { createFileKeyStore } from './file-store.js';
import { createEtcdKeyStore } from './etcd-store.js';
import { createConsulKeyStore } from './consul-store.js';

export interface KeyStore {
  /** A description for messages: "file /etc/polymur/keys.json", "etcd 10.0.0.1:2379". */
  readonly description: string;
  list(): Promise<Map<string, string>>;
  get(name: string): Promise<string | undefined>;
  put(name: string, key: string): Promise<void>;
  delete(name: string): Promise<boolean>;
  /** Calls back when the store may have changed; returns the unsubscribe function. */
  watch?(onChange: () => void): () => void;
  close(): Promise<void>;
}

export class KeyStoreError extends Error {
  override readonly name = 'KeyStoreError';
}

/** The original's key layout in a key-value store. */
export const DEFAULT_KEY_PREFIX = 'polymur/gateway/keys/';

/** "file:PATH" (or a bare path), "etcd://host:port[,host:port][/prefix]", "consul://host:port[/prefix]". */
export function openKeyStore(url: string): KeyStore {
  if (url.startsWith('etcd://')) return createEtcdKeyStore(url);
  if (url.startsWith('consul://')) return createConsulKeyStore(url);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new KeyStoreError(`unsupported key store "${url}": use file:PATH, etcd://HOST:PORT or consul://HOST:PORT`);
  }
  return createFileKeyStore(url.startsWith('file:') ? url.slice('file:'.length) : url);
}

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
