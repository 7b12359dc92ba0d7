// Keys in etcd v3 (the etcd3 client), under `polymur/gateway/keys/<name>` by default, so every
// gateway of a fleet sees the same keys, and a watch carries a revocation to all of them at once.
import { Etcd3 } from 'etcd3';
import { KeyStoreError, parseStoreUrl, type KeyStore } from './store.js';

export function createEtcdKeyStore(url: string): KeyStore {
  const { endpoints, prefix } = parseStoreUrl(url);
  const client = new Etcd3({ hosts: endpoints.map((h) => `http://${h}`), dialTimeout: 5000 });
  const description = `etcd ${endpoints.join(',')}/${prefix}`;
  const wrap = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      throw new KeyStoreError(`etcd key store ${endpoints.join(',')}: cannot ${what}: ${(err as Error).message}`);
    }
  };

  return {
    description,
    list: () =>
      wrap('list keys', async () => {
        const all = await client.getAll().prefix(prefix).strings();
        return new Map(Object.entries(all).map(([k, v]) => [k.slice(prefix.length), v]));
      }),
    get: (name) => wrap(`read ${name}`, async () => (await client.get(prefix + name).string()) ?? undefined),
    put: (name, entry, only) =>
      wrap(`write ${name}`, async () => {
        if (only === undefined) {
          await client.put(prefix + name).value(entry);
          return true;
        }
        // One transaction: the condition and the write cannot be split by another writer.
        const txn = client.if(prefix + name, 'Version', only === 'absent' ? '==' : '>', 0).then(client.put(prefix + name).value(entry));
        return (await txn.commit()).succeeded;
      }),
    delete: (name) => wrap(`delete ${name}`, async () => Number((await client.delete().key(prefix + name)).deleted) > 0),
    watch(onChange, onError) {
      let cancelled = false;
      let cancel: (() => Promise<void>) | undefined;
      client
        .watch()
        .prefix(prefix)
        .create()
        .then((watcher) => {
          if (cancelled) return void watcher.cancel();
          watcher.on('put', onChange);
          watcher.on('delete', onChange);
          watcher.on('error', onError);
          cancel = () => watcher.cancel();
        })
        .catch(onError); // the periodic refresh covers a store that cannot be watched
      return () => {
        cancelled = true;
        void cancel?.();
      };
    },
    async close() {
      client.close();
    },
  };
}
