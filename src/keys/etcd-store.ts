// Keys in etcd v3 (the etcd3 client), under `polymur/gateway/keys/<name>` by default, so every
// gateway of a fleet sees the same keys, and a watch carries a revocation to all of them at once.
// `etcd://` speaks plain gRPC, `etcds://` TLS; with several endpoints a call that fails on one
// member is tried on another, so the store works while the cluster has quorum.
import type { Etcd3 } from 'etcd3';
import { etcdClientOptions, type EtcdAccess } from './etcd-access.js';
import { KeyStoreError, parseStoreUrl, type KeyStore } from './store.js';

export function createEtcdKeyStore(url: string, access: EtcdAccess = {}): KeyStore {
  const { endpoints, prefix } = parseStoreUrl(url);
  const tls = url.startsWith('etcds://');
  const options = etcdClientOptions(endpoints, tls, access);
  // etcd3 (gRPC, protobufjs) takes most of a second to load: it is loaded when the store is first
  // used, not by every program that imports the store (a gateway on a key file, polymur-keys).
  let loading: Promise<Etcd3> | undefined;
  const etcd = (): Promise<Etcd3> => (loading ??= import('etcd3').then(({ Etcd3 }) => new Etcd3(options)));
  const description = `${tls ? 'etcds' : 'etcd'} ${endpoints.join(',')}/${prefix}`;
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
        const all = await (await etcd()).getAll().prefix(prefix).strings();
        return new Map(Object.entries(all).map(([k, v]) => [k.slice(prefix.length), v]));
      }),
    get: (name) => wrap(`read ${name}`, async () => (await (await etcd()).get(prefix + name).string()) ?? undefined),
    put: (name, entry, only) =>
      wrap(`write ${name}`, async () => {
        const client = await etcd();
        if (only === undefined) {
          await client.put(prefix + name).value(entry);
          return true;
        }
        // One transaction: the condition and the write cannot be split by another writer.
        const key = prefix + name;
        const condition = typeof only === 'object' ? client.if(key, 'Value', '==', only.value) : client.if(key, 'Version', only === 'absent' ? '==' : '>', 0);
        const txn = condition.then(client.put(key).value(entry));
        return (await txn.commit()).succeeded;
      }),
    delete: (name) => wrap(`delete ${name}`, async () => Number((await (await etcd()).delete().key(prefix + name)).deleted) > 0),
    watch(onChange, onError) {
      let cancelled = false;
      let cancel: (() => Promise<void>) | undefined;
      etcd()
        .then((client) => client.watch().prefix(prefix).create())
        .then((watcher) => {
          if (cancelled) return void watcher.cancel();
          watcher.on('put', onChange);
          watcher.on('delete', onChange);
          // A failing, lost or re-established stream: a re-read finds out (and says) whether the
          // store is there, and catches up on what changed while the stream was down.
          watcher.on('error', (err: Error) => {
            onError(err);
            onChange();
          });
          watcher.on('disconnected', onChange);
          watcher.on('connected', onChange);
          cancel = () => watcher.cancel();
        })
        .catch(onError); // the periodic refresh covers a store that cannot be watched
      return () => {
        cancelled = true;
        void cancel?.();
      };
    },
    async close() {
      if (loading) (await loading).close();
    },
  };
}
