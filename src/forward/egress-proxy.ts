// Which forward (egress) proxy, if any, reaches each gateway: the -http-proxy flag, or else the
// environment as Go's net/http reads it (the original proxy's client): HTTPS_PROXY for https://
// gateways, HTTP_PROXY for http://, NO_PROXY naming the hosts reached directly. Upper case first,
// the lower-case names (curl's) too. Decided once at start, so it can be logged and checked.
import { PolymurError } from '../errors.js';

export class EgressProxyError extends PolymurError {
  readonly code = 'POLYMUR_ERR_EGRESS_PROXY';
}

export interface EgressChoice {
  /** The proxy to send CONNECT to; undefined: connect to the gateway directly. */
  readonly proxy?: URL;
  /** Where the choice came from, for the start-up log line. */
  readonly why: string;
}

/** The -http-proxy value that means "connect directly, whatever the environment says". */
export const NO_EGRESS_PROXY = 'none';

/**
 * A proxy URL as Go reads one: `host:port` means `http://host:port`. Only http:// proxies: the
 * tunnel inside is TLS to the gateway already, end to end.
 */
export function parseProxyUrl(value: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(value.includes('://') ? value : `http://${value}`);
  } catch {
    // Not parsed, so the credentials are cut out by their shape: between `//` and `@`.
    throw new EgressProxyError(`${where} "${value.replace(/\/\/[^/]*@/, '//***@')}" is not a proxy URL (expected http://host:port)`);
  }
  if (url.protocol !== 'http:') {
    throw new EgressProxyError(`${where} "${describeProxy(url)}": only http:// proxies are supported (the tunnel to the gateway is TLS, end to end)`);
  }
  return url;
}

/** The proxy URL as it may be logged: the password replaced, the path dropped. */
export function describeProxy(url: URL): string {
  const user = url.username === '' ? '' : `${url.username}${url.password === '' ? '' : ':***'}@`;
  return `${url.protocol}//${user}${url.host}`;
}

function firstSet(env: NodeJS.ProcessEnv, names: readonly string[]): [string, string] | undefined {
  for (const name of names) {
    const value = env[name];
    if (value !== undefined && value !== '') return [name, value];
  }
  return undefined;
}

const unbracket = (host: string): string => host.replace(/^\[(.*)\]$/, '$1').toLowerCase();

/** A NO_PROXY entry's host and port: `host`, `host:port`, `[v6]`, `[v6]:port`, or a bare IPv6 address. */
function splitEntry(entry: string): { host: string; port?: number } {
  const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry) ?? /^([^:]+):(\d+)$/.exec(entry);
  if (!m) return { host: entry };
  return m[2] === undefined ? { host: m[1]! } : { host: m[1]!, port: Number(m[2]) };
}

/** The NO_PROXY entry that names the gateway: `*`, a host or domain (`.example.com`, `*.example.com`), with an optional port. */
function bypassingEntry(noProxy: string, gateway: URL): string | undefined {
  const host = unbracket(gateway.hostname);
  const port = Number(gateway.port || (gateway.protocol === 'https:' ? 443 : 80));
  for (const entry of noProxy.split(/[,\s]+/)) {
    if (entry === '') continue;
    if (entry === '*') return entry;
    const named = splitEntry(entry);
    if (named.port !== undefined && named.port !== port) continue;
    const domain = unbracket(named.host).replace(/^\*?\./, '');
    if (domain !== '' && (host === domain || host.endsWith(`.${domain}`))) return entry;
  }
  return undefined;
}

/** The proxy for one gateway: the flag (a URL, or `none`) wins; '' reads the environment. */
export function chooseEgressProxy(gateway: URL, flag: string, env: NodeJS.ProcessEnv): EgressChoice {
  if (flag === NO_EGRESS_PROXY) return { why: '-http-proxy none' };
  if (flag !== '') return { proxy: parseProxyUrl(flag, '-http-proxy'), why: '-http-proxy' };
  const names = gateway.protocol === 'https:' ? ['HTTPS_PROXY', 'https_proxy'] : ['HTTP_PROXY', 'http_proxy'];
  const set = firstSet(env, names);
  if (set === undefined) return { why: `no ${names[0]} in the environment` };
  const [name, value] = set;
  const proxy = parseProxyUrl(value, name);
  const noProxy = firstSet(env, ['NO_PROXY', 'no_proxy']);
  const entry = noProxy && bypassingEntry(noProxy[1], gateway);
  if (noProxy && entry) return { why: `${noProxy[0]} entry "${entry}"` };
  return { proxy, why: name };
}
