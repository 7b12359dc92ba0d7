// The parts of the programs that SIGHUP re-reads (see reload.ts): the gateway's key store and
// certificate, the proxy's API key file and CA, the destinations file of the gateway and relay.
// Each checks the whole new setting before using any of it, so a failure keeps the old one.
import { readApiKey } from '../config/api-key-file.js';
import { readDestinationsFile } from '../config/destinations-file.js';
import { replicationShortfall } from '../config/routing-config.js';
import type { GatewayForwarder } from '../forward/forwarder.js';
import type { KeyReread } from '../forward/reread-on-refusal.js';
import type { Gateway } from '../gateway/server.js';
import type { KeyCache } from '../keys/cache.js';
import { certificateSummary, readCaFile, readGatewayTls } from '../net/tls-files.js';
import type { TlsVersion } from '../net/tls-policy.js';
import { parseDestination, type Distribution } from '../route/destination.js';
import type { Router } from '../route/router.js';
import type { RuleFilePaths, RuleFiles } from '../rules/rule-files.js';
import { ReloadError, type ReloadPart } from './reload.js';

export function keyStorePart(keys: KeyCache, description: string): ReloadPart {
  return {
    name: `API keys (${description})`,
    async reload() {
      const known = keys.size();
      try {
        const c = await keys.refresh();
        return `${c.added} new, ${c.removed} removed, ${c.known} known`;
      } catch (err) {
        throw new ReloadError(`${(err as Error).message}; the ${known} known keys stay`);
      }
    },
  };
}

export function certificatePart(gateway: Gateway, paths: { certPath: string; keyPath: string; clientCaPath: string; minVersion: TlsVersion }, served: string): ReloadPart {
  let current = served;
  return {
    name: 'TLS certificate',
    async reload() {
      const { tls, cert } = readGatewayTls(paths);
      if (Date.parse(cert.validTo) < Date.now()) {
        throw new ReloadError(`-cert ${paths.certPath} expired on ${new Date(cert.validTo).toISOString()}`);
      }
      try {
        gateway.setTls(tls);
      } catch (err) {
        throw new ReloadError(`node:tls refuses -cert ${paths.certPath} / -key ${paths.keyPath}: ${(err as Error).message}`);
      }
      const now = certificateSummary(cert);
      const line = now === current ? `unchanged (${now})` : `new handshakes get ${now} (was ${current})`;
      current = now;
      return line;
    },
  };
}

/** The proxy's key and CA: each part changes its own and sends both to the forwarder. */
export function proxyCredentialParts(opts: { forwarder: GatewayForwarder; apiKey: string; ca: Buffer | undefined; apiKeyFile: string; caPath: string }): {
  parts: ReloadPart[];
  rereadApiKey?: KeyReread;
} {
  let apiKey = opts.apiKey;
  let ca = opts.ca;
  const apply = (): void => opts.forwarder.setCredentials({ apiKey, ...(ca ? { ca } : {}) });
  const parts: ReloadPart[] = [];
  // Also called when the gateway refuses the key (reread-on-refusal.ts): one key, whoever read it last.
  const rereadApiKey: KeyReread = () => {
    const next = readApiKey(opts.apiKeyFile);
    if (next === apiKey) return false;
    apiKey = next;
    apply();
    return true;
  };
  if (opts.apiKeyFile !== '') {
    parts.push({
      name: `API key (-api-key-file ${opts.apiKeyFile})`,
      async reload() {
        return rereadApiKey() ? 'a new key is sent from now on (requests in flight finish with the old one)' : 'unchanged';
      },
    });
  }
  if (opts.caPath !== '') {
    parts.push({
      name: `gateway CA (-cert ${opts.caPath})`,
      async reload() {
        const next = readCaFile('-cert', opts.caPath);
        if (ca !== undefined && next.pem.equals(ca)) return `unchanged (${certificateSummary(next.cert)})`;
        ca = next.pem;
        apply();
        return `new connections verify the gateway with ${certificateSummary(next.cert)}`;
      },
    });
  }
  return opts.apiKeyFile === '' ? { parts } : { parts, rereadApiKey };
}

/**
 * -destinations-file: what the file gained is added, what it lost removed (hash-route hands the
 * removed one's queue to the ring, broadcast drains it first). Compared with what the file said
 * last, so destinations added or removed through the destination API meanwhile are left alone.
 */
export function destinationsFilePart(router: Router, opts: { path: string; distribution: Distribution; replicationFactor: number }, initial: readonly string[]): ReloadPart {
  const { path, distribution, replicationFactor } = opts;
  const idOf = (text: string): string => parseDestination(text).id;
  let applied = new Set(initial.map(idOf));
  return {
    name: `destinations (-destinations-file ${path})`,
    async reload() {
      const next = readDestinationsFile(path, distribution).map(idOf);
      if (next.length === 0) throw new ReloadError(`${path} names no destination`);
      const shortfall = replicationShortfall(
        next.map((text) => parseDestination(text)),
        distribution,
        replicationFactor,
      );
      if (shortfall) throw new ReloadError(`${path}: ${shortfall}`);
      const wanted = new Set(next);
      const said: string[] = [];
      /** One destination added or removed; a refusal is said and the others go on. */
      const change = (id: string, done: 'added' | 'removed', apply: (id: string) => void): void => {
        try {
          apply(id);
          said.push(`${done} ${id}`);
        } catch (err) {
          said.push(`${id} not ${done}: ${(err as Error).message}`);
        }
      };
      for (const id of next) if (!applied.has(id)) change(id, 'added', (d) => router.addDestination(d));
      for (const id of applied) if (!wanted.has(id)) change(id, 'removed', (d) => router.removeDestination(d));
      applied = wanted;
      return said.length > 0 ? said.join(', ') : `unchanged (${next.length} destinations)`;
    },
  };
}

/** -rewrite-rules, -blacklist, -whitelist: all re-read, used only when every one parses. */
export function ruleFilesPart(rules: RuleFiles, paths: RuleFilePaths): ReloadPart {
  const named = [
    ['-rewrite-rules', paths.rewriteRules],
    ['-blacklist', paths.blacklist],
    ['-whitelist', paths.whitelist],
  ].filter(([, p]) => p !== '');
  return {
    name: `rule files (${named.length > 0 ? named.map(([flag, p]) => `${flag} ${p}`).join(', ') : '-tag-normalize only'})`,
    async reload() {
      try {
        return await rules.reload();
      } catch (err) {
        throw new ReloadError(`${(err as Error).message}; the rules in use stay`);
      }
    },
  };
}
