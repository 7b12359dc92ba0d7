// Keys in Consul KV, the Go original's layout (`polymur/gateway/keys/<name>` = `<key>`), through
// Consul's HTTP API (v1/kv). Consul cannot be installed on our test machines, so this store is
// exercised only by hand; it follows the documented API (recurse=true returns base64 values).
import { KeyStoreError, parseStoreUrl, type KeyStore } from './store.js';

interface ConsulEntry {
  readonly Key: string;
  readonly Value: string | null;
}

export function createConsulKeyStore(url: string): KeyStore {
  const { endpoints, prefix } = parseStoreUrl(url);
  const base = `http://${endpoints[0]}/v1/kv/`;
  const description = `consul ${endpoints[0]}/${prefix}`;

  const call = async (what: string, path: string, init?: RequestInit): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(base + path, { ...init, signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new KeyStoreError(`consul key store ${endpoints[0]}: cannot ${what}: ${(err as Error).message}`);
    }
    if (!res.ok && res.status !== 404) {
      throw new KeyStoreError(`consul key store ${endpoints[0]}: cannot ${what}: HTTP ${res.status} ${await res.text()}`);
    }
    return res;
  };

  return {
    description,
    async list() {
      const res = await call('list keys', `${prefix}?recurse=true`);
      if (res.status === 404) return new Map();
      const entries = (await res.json()) as ConsulEntry[];
      return new Map(
        entries
          .filter((e) => e.Value !== null && e.Key.length > prefix.length)
          .map((e) => [e.Key.slice(prefix.length), Buffer.from(e.Value!, 'base64').toString('utf8')]),
      );
    },
    async get(name) {
      const res = await call(`read ${name}`, `${prefix}${encodeURIComponent(name)}?raw=true`);
      return res.status === 404 ? undefined : await res.text();
    },
    async put(name, entry, only) {
      const path = `${prefix}${encodeURIComponent(name)}`;
      // Check-and-set (the answer is "true" or "false"): cas=0 writes only a new key,
      // cas=<ModifyIndex> only over the version that was read.
      const write = async (cas: string): Promise<boolean> =>
        (await (await call(`write ${name}`, `${path}${cas}`, { method: 'PUT', body: entry })).text()).trim() === 'true';
      if (only === undefined) return write('');
      if (only === 'absent') return write('?cas=0');
      // A write that lost to another writer is tried again over what that one left.
      for (let attempt = 0; attempt < 5; attempt++) {
        const res = await call(`read ${name}`, path);
        if (res.status === 404) return false;
        if (await write(`?cas=${((await res.json()) as Array<{ ModifyIndex: number }>)[0]!.ModifyIndex}`)) return true;
      }
      throw new KeyStoreError(`consul key store ${endpoints[0]}: cannot write ${name}: it changed under every one of 5 attempts`);
    },
    async delete(name) {
      const existed = (await this.get(name)) !== undefined;
      await call(`delete ${name}`, `${prefix}${encodeURIComponent(name)}`, { method: 'DELETE' });
      return existed;
    },
    async close() {},
  };
}
