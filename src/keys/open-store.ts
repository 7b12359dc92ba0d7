// Which key store a -key-store URL names: the file store, etcd or Consul.
import { createConsulKeyStore } from './consul-store.js';
import { createEtcdKeyStore } from './etcd-store.js';
import { createFileKeyStore } from './file-store.js';
import type { EtcdAccess } from './etcd-access.js';
import { KeyStoreError, type KeyStore } from './store.js';

/**
 * "file:PATH" (or a bare path), "etcd://host:port[,host:port][/prefix]" (etcds://: TLS, with `etcd`'s
 * CA, client certificate and user), "consul://host:port[/prefix]", or "consul" / "consul:///prefix":
 * the agent named by CONSUL_HTTP_ADDR, as the original.
 */
export function openKeyStore(url: string, etcd: EtcdAccess = {}): KeyStore {
  if (url.startsWith('etcd://') || url.startsWith('etcds://')) return createEtcdKeyStore(url, etcd);
  if (url === 'consul' || url.startsWith('consul://')) return createConsulKeyStore(url);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url)) {
    throw new KeyStoreError(`unsupported key store "${url}": use file:PATH, etcd://HOST:PORT, etcds://HOST:PORT or consul://HOST:PORT`);
  }
  return createFileKeyStore(url.startsWith('file:') ? url.slice('file:'.length) : url);
}
