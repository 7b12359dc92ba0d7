// Keys in Consul KV, the Go original's layout (`polymur/gateway/keys/<name>` = `<key>`), through
// Consul's HTTP API (v1/kv). Consul cannot be installed on our test machines, so this store is
// exercised only by hand; it follows the documented API (recurse=true returns base64 values).
import { KeyStoreError, parseStoreUrl, type KeyStore } from './store.js';

interface ConsulEntry {
  readonly Key: string;
  readonly Value: string | null;
}

/** Where the Go original's Consul client (api.DefaultConfig) goes when CONSUL_HTTP_ADDR is not set. */
const CONSUL_DEFAULT_ADDR = '127.0.0.1:8500';

export interface ConsulLocation {
  /** "http://host:port" or "https://host:port". */
  readonly origin: string;
  /** Ends in "/". */
  readonly prefix: string;
}

/**
 * "consul://host:port[/prefix]". Without a host ("consul", "consul://", "consul:///prefix") the
 * agent is the one the original's Consul client uses: CONSUL_HTTP_ADDR ("host:port" or
 * "http(s)://host:port"; CONSUL_HTTP_SSL=true means https), else 127.0.0.1:8500.
 */
export function resolveConsulLocation(url: string, env: NodeJS.ProcessEnv = process.env): ConsulLocation {
  const rest = url === 'consul' ? '' : url.slice('consul://'.length);
  if (!rest.startsWith('/') && rest !== '') {
    const { endpoints, prefix } = parseStoreUrl(url);
    return { origin: `http://${endpoints[0]}`, prefix };
  }
  const addr = env.CONSUL_HTTP_ADDR?.trim() || CONSUL_DEFAULT_ADDR;
  const given = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(addr);
  const scheme = given ? given[1]!.toLowerCase() : env.CONSUL_HTTP_SSL?.toLowerCase() === 'true' ? 'https' : 'http';
  if (scheme !== 'http' && scheme !== 'https') {
    throw new KeyStoreError(`CONSUL_HTTP_ADDR "${addr}": only http:// and https:// agents are supported, give host:port`);
  }
  const host = (given ? given[2]! : addr).replace(/\/+$/, '');
  if (host === '' || host.includes('/')) throw new KeyStoreError(`CONSUL_HTTP_ADDR "${addr}" is not host:port`);
  return { origin: `${scheme}://${host}`, prefix: parseStoreUrl(`consul://${host}${rest}`).prefix };
}

export function createConsulKeyStore(url: string, env: NodeJS.ProcessEnv = process.env): KeyStore {
  const { origin, prefix } = resolveConsulLocation(url, env);
  const base = `${origin}/v1/kv/`;
  const description = `consul ${origin}/${prefix}`;

  const call = async (what: string, path: string, init?: RequestInit): Promise<Response> => {
    let res: Response;
    try {
      res = await fetch(base + path, { ...init, signal: AbortSignal.timeout(10_000) });
    } catch (err) {
      throw new KeyStoreError(`consul key store ${origin}: cannot ${what}: ${(err as Error).message}`);
    }
    if (!res.ok && res.status !== 404) {
      throw new KeyStoreError(`consul key store ${origin}: cannot ${what}: HTTP ${res.status} ${await res.text()}`);
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
        entries.filter((e) => e.Value !== null && e.Key.length > prefix.length).map((e) => [e.Key.slice(prefix.length), Buffer.from(e.Value!, 'base64').toString('utf8')]),
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
      const write = async (cas: string): Promise<boolean> => (await (await call(`write ${name}`, `${path}${cas}`, { method: 'PUT', body: entry })).text()).trim() === 'true';
      if (only === undefined) return write('');
      if (only === 'absent') return write('?cas=0');
      // A write that lost to another writer is tried again over what that one left (for a
      // condition on the value, only while the value is still the one expected).
      for (let attempt = 0; attempt < 5; attempt++) {
        const res = await call(`read ${name}`, path);
        if (res.status === 404) return false;
        const [read] = (await res.json()) as Array<{ ModifyIndex: number; Value: string | null }>;
        if (read === undefined) return false;
        if (typeof only === 'object' && Buffer.from(read.Value ?? '', 'base64').toString('utf8') !== only.value) return false;
        if (await write(`?cas=${read.ModifyIndex}`)) return true;
      }
      throw new KeyStoreError(`consul key store ${origin}: cannot write ${name}: it changed under every one of 5 attempts`);
    },
    async delete(name) {
      const existed = (await this.get(name)) !== undefined;
      await call(`delete ${name}`, `${prefix}${encodeURIComponent(name)}`, { method: 'DELETE' });
      return existed;
    },
    async close() {},
  };
}
