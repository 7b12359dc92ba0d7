// The error catalog (src/errors.ts): each error, raised by the code that raises it where that is
// cheap, carries its stable code; no error class in src/ is left without one; the README's
// "Error codes" table lists exactly the catalog's codes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readApiKey } from '../../src/config/api-key-file.js';
import { readDestinationsFile } from '../../src/config/destinations-file.js';
import { FlagError, parseFlags } from '../../src/config/flags.js';
import { RELAY_FLAGS } from '../../src/config/programs.js';
import { ConfigError } from '../../src/config/validate.js';
import { ERROR_CODES, PolymurError, type ErrorCode } from '../../src/errors.js';
import { DeadLetterWriteError } from '../../src/forward/dead-letter.js';
import { parseProxyUrl } from '../../src/forward/egress-proxy.js';
import { TunnelRefusedError } from '../../src/forward/transport.js';
import { BodyMalformed, BodyTooLarge } from '../../src/gateway/body.js';
import { BudgetExhausted } from '../../src/gateway/inflight-budget.js';
import { parseHostPort } from '../../src/net/address.js';
import { LockTimeout } from '../../src/keys/file-lock.js';
import { openKeyStore } from '../../src/keys/open-store.js';
import { KeyStoreError, KeyStoreMissing } from '../../src/keys/store.js';
import { readCaFile } from '../../src/net/tls-files.js';
import { createTrustedProxies } from '../../src/net/trusted-proxies.js';
import { ReloadError } from '../../src/cli/reload.js';
import { parseDestination } from '../../src/route/destination.js';
import { WriteTimeoutError } from '../../src/route/tcp-writer.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (err) {
    return err;
  }
  assert.fail(`${String(f)} did not throw`);
}

test('each error carries its catalog code', () => {
  const rows: Array<[string, unknown, ErrorCode]> = [
    ['an unknown flag', thrown(() => parseFlags(RELAY_FLAGS, ['-nope'], {}, 'P')), 'POLYMUR_ERR_FLAG'],
    ['a flag out of range', thrown(() => parseFlags(RELAY_FLAGS, ['-batch-size', '0'], {}, 'P')), 'POLYMUR_ERR_FLAG'],
    ['a bad combination', new ConfigError('give -api-key or -api-key-file, not both'), 'POLYMUR_ERR_CONFIG'],
    ['a bad address', thrown(() => parseHostPort('nohost:99999')), 'POLYMUR_ERR_ADDRESS'],
    ['a bad destination', thrown(() => parseDestination('carbon:port')), 'POLYMUR_ERR_DESTINATION'],
    ['a missing destinations file', thrown(() => readDestinationsFile('/nonexistent/destinations', 'broadcast')), 'POLYMUR_ERR_DESTINATIONS_FILE'],
    ['a missing API key file', thrown(() => readApiKey('/nonexistent/api-key')), 'POLYMUR_ERR_API_KEY_FILE'],
    ['a missing CA file', thrown(() => readCaFile('-cert', '/nonexistent/ca.pem')), 'POLYMUR_ERR_TLS_FILE'],
    ['a bad trusted proxy', thrown(() => createTrustedProxies(['not-a-cidr'])), 'POLYMUR_ERR_TRUSTED_PROXIES'],
    ['a bad egress proxy', thrown(() => parseProxyUrl('socks5://127.0.0.1:1080', '-http-proxy')), 'POLYMUR_ERR_EGRESS_PROXY'],
    ['an unsupported key store', thrown(() => openKeyStore('redis://127.0.0.1:6379')), 'POLYMUR_ERR_KEY_STORE'],
    ['a key store not created yet', new KeyStoreMissing('key store file /x does not exist'), 'POLYMUR_ERR_KEY_STORE_MISSING'],
    ['a reload refused', new ReloadError('the new certificate does not match the key'), 'POLYMUR_ERR_RELOAD'],
    ['a held key file lock', new LockTimeout('/x.lock', 42, 5000), 'POLYMUR_ERR_LOCK_TIMEOUT'],
    ['a refused tunnel', new TunnelRefusedError('forward proxy http://p:3128 refused the tunnel to gw:443: HTTP 403'), 'POLYMUR_ERR_PROXY_TUNNEL_REFUSED'],
    ['a dead letter not written', new DeadLetterWriteError('/x', 'ENOSPC', 'ENOSPC: no space left on device'), 'POLYMUR_ERR_DEAD_LETTER_WRITE'],
    ['a stuck destination', new WriteTimeoutError('127.0.0.1:2003', 10_000), 'POLYMUR_ERR_WRITE_TIMEOUT'],
    ['a body too large', new BodyTooLarge(), 'POLYMUR_ERR_BODY_TOO_LARGE'],
    ['a body not gzip', new BodyMalformed('incorrect header check'), 'POLYMUR_ERR_BODY_MALFORMED'],
    ['the in-flight budget full', new BudgetExhausted(1, 2, 1000), 'POLYMUR_ERR_INFLIGHT_BUDGET'],
  ];
  for (const [what, err, code] of rows) {
    assert.ok(err instanceof PolymurError, `${what}: ${String(err)}`);
    assert.equal(err.code, code, what);
    assert.ok(err.message.length > 0, what);
  }
  // The system's code stays reachable where the operator needs it.
  assert.equal(new DeadLetterWriteError('/x', 'ENOSPC', 'm').errno, 'ENOSPC');
  assert.ok(thrown(() => parseFlags(RELAY_FLAGS, ['-nope'], {}, 'P')) instanceof FlagError);
  assert.ok(new KeyStoreMissing('m') instanceof KeyStoreError);
});

test('no error class in src/ is left without a catalog code', () => {
  const files = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
  const uncoded: string[] = [];
  for (const file of files(join(ROOT, 'src')).filter((f) => !f.endsWith('/src/errors.ts'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(/class (\w+) extends (\w*Error)\b/g)) {
      // Extending PolymurError, or a class that does (ConfigError, KeyStoreError): typed to carry a catalog code.
      if (m[2] === 'Error' || m[2] === 'TypeError' || m[2] === 'RangeError') uncoded.push(`${file.slice(ROOT.length)}: ${m[1]}`);
    }
  }
  assert.deepEqual(uncoded, []);
});

test('the README lists every code of the catalog, and no other', () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Error codes'));
  const listed = [...section.slice(0, section.indexOf('\n## ', 3)).matchAll(/^\| `(POLYMUR_ERR_\w+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...listed].sort(), Object.keys(ERROR_CODES).sort());
});
