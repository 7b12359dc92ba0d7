// The etcd key store against a real 3-member etcd cluster with TLS, client certificates and auth
// on: polymur-keys and three gateways reach it with the -key-store-* flags; a key created or
// revoked reaches every gateway within a second (measured, printed), also while a member is down;
// the gateways' last-known-good copy lets them start while the whole cluster is down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEtcdKeyStore } from '../../src/keys/etcd-store.js';
import { KeyStoreError } from '../../src/keys/store.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd-cluster.js';
import { propagationMs } from '../helpers/key-propagation.js';
import { scrapeCounter } from '../helpers/points.js';
import { runToExit, startProgram } from '../../harness/programs.js';
import { rawPost } from '../helpers/raw-http.js';
import { startGateway, type GatewayProcess } from '../../harness/system.js';
import type { TestCert } from '../../harness/certs.js';

type Gateway = GatewayProcess & { cert: TestCert };

let cluster: EtcdCluster;
before(async () => {
  cluster = await startEtcdCluster();
});
after(async () => {
  await cluster?.stop();
});

async function keys(...args: string[]): Promise<string> {
  const r = await runToExit('keys', [...cluster.flags, ...args]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

async function create(name: string): Promise<string> {
  return /with key (\S+)/.exec(await keys('create', name))![1]!;
}

async function ping(g: Gateway, key: string): Promise<number> {
  return (await rawPost(g.port, g.cert.cert, '/ping', key, Buffer.alloc(0))).status;
}

const stateDir = (): string => mkdtempSync(join(tmpdir(), 'polymur-gw-state-'));

test('etcd cluster with TLS and auth: polymur-keys and three gateways; a change reaches every gateway within 1 s, also with a member down', async () => {
  // Without the user, and with a wrong password, the cluster refuses: auth is really on.
  const noUser = await runToExit('keys', [
    '-key-store',
    cluster.url,
    '-key-store-ca',
    cluster.cert.certPath,
    '-key-store-cert',
    cluster.cert.certPath,
    '-key-store-key',
    cluster.cert.keyPath,
    'list',
    'names',
  ]);
  assert.equal(noUser.code, 1, noUser.stderr);
  const wrong = join(stateDir(), 'wrong-password');
  writeFileSync(wrong, 'not-the-password\n', { mode: 0o600 });
  const flags = cluster.flags.map((f) => (f === cluster.passwordFile ? wrong : f));
  const badPassword = await runToExit('keys', [...flags, 'list', 'names']);
  assert.equal(badPassword.code, 1);
  assert.match(badPassword.stderr, /etcd key store .*: cannot list keys: .*(auth|password)/i);
  // The password file must be the owner's alone; TLS flags without etcds:// are refused: exit 2.
  chmodSync(wrong, 0o644);
  const open = await runToExit('keys', [...flags, 'list', 'names']);
  assert.deepEqual([open.code, /mode 0644 lets other users read the password/.test(open.stderr)], [2, true], open.stderr);
  const plain = await runToExit('keys', ['-key-store', cluster.url.replace('etcds://', 'etcd://'), ...cluster.accessFlags, 'list', 'names']);
  assert.deepEqual([plain.code, /write the key store as etcds:\/\//.test(plain.stderr)], [2, true], plain.stderr);

  const alpha = await create('alpha');
  const gateways: Gateway[] = [];
  try {
    for (let i = 0; i < 3; i++) {
      gateways.push(await startGateway({ keyStore: cluster.url, args: [...cluster.accessFlags, '-state-dir', stateDir(), '-console-out'] }));
    }
    for (const g of gateways) assert.equal(await ping(g, alpha), 200);

    const figures: string[] = [];
    const change = async (what: string, run: () => Promise<string>, status: 200 | 401): Promise<void> => {
      let since = 0;
      const key = await run().then((k) => ((since = Date.now()), k));
      const ms = await propagationMs(gateways, key, status, since, `127.0.0.${10 + figures.length}`).catch((err: Error) => {
        throw new Error(`${what}: ${err.message} (so far: ${figures.join('; ')})\n${gateways.map((g) => g.stderr().slice(-1500)).join('\n---\n')}`);
      });
      figures.push(`${what}: ${ms.join(', ')} ms`);
      for (const t of ms) assert.ok(t < 1000, `${what} took ${t} ms on a gateway`);
    };
    await change('created', () => create('beta'), 200);
    await change('revoked', async () => (await keys('delete', 'alpha'), alpha), 401);
    // A member down (the cluster keeps its quorum): the gateways whose watch was on it move to another.
    await cluster.stopMember(0);
    await change('created, member 0 down', () => create('gamma'), 200);
    const gamma = /with key (\S+)/.exec(await keys('regen', 'gamma'))![1]!;
    await change('regenerated, member 0 down', async () => gamma, 200);
    await cluster.startMember(0);
    await cluster.stopMember(1);
    await change('revoked, member 1 down', async () => (await keys('delete', 'gamma'), gamma), 401);
    await cluster.startMember(1);
    process.stdout.write(`# key changes reaching the 3 gateways: ${figures.join('; ')}\n`);
    for (const g of gateways) assert.equal(await scrapeCounter(g.statPort, 'polymur_key_store_up'), 1);
  } finally {
    await Promise.all(gateways.map((g) => g.stop()));
  }
});

test('the store API over TLS and auth: the cluster as etcdctl sees it; no auth is refused', async () => {
  const access = {
    ca: cluster.cert.cert,
    client: { cert: cluster.cert.cert, key: cluster.cert.key },
    auth: { user: 'polymur', password: readFileSync(cluster.passwordFile, 'utf8').trim() },
  };
  const store = createEtcdKeyStore(cluster.url, access);
  const anonymous = createEtcdKeyStore(cluster.url, { ca: access.ca, client: access.client });
  try {
    assert.equal(await store.put('delta', 'sha256:00', 'absent'), true);
    assert.equal(await cluster.ctl('get', 'polymur/gateway/keys/delta', '--print-value-only'), 'sha256:00\n');
    await assert.rejects(anonymous.list(), KeyStoreError);
    assert.equal(await store.delete('delta'), true);
  } finally {
    await store.close();
    await anonymous.close();
  }
});

test('last-known-good copy: kept 0600 as stored (hashed); a gateway starts from it while the whole cluster is down, says when it is gone and back', async () => {
  const key = await create('epsilon');
  const dir = stateDir();
  let gateway = await startGateway({ keyStore: cluster.url, args: [...cluster.accessFlags, '-state-dir', dir, '-console-out', '-key-refresh', '1s'] });
  const copyPath = join(dir, 'polymur-keys.last-known-good.json');
  try {
    assert.equal(await ping(gateway, key), 200, gateway.stderr());
    const stored = (await cluster.ctl('get', 'polymur/gateway/keys/epsilon', '--print-value-only')).trimEnd();
    assert.match(stored, /^sha256:/);
    assert.equal((JSON.parse(readFileSync(copyPath, 'utf8')) as Record<string, string>)['epsilon'], stored);
    assert.equal(statSync(copyPath).mode & 0o777, 0o600);

    // The cluster goes away under a running gateway: said once, the keys kept, the gauge 0.
    await Promise.all([0, 1, 2].map((i) => cluster.stopMember(i)));
    await gateway.waitForLog(/API key refresh from etcds \S+ failed, keeping the \d+ known keys/, 30_000);
    await until(async () => (await scrapeCounter(gateway.statPort, 'polymur_key_store_up')) === 0);
    assert.equal(await ping(gateway, key), 200);
    await gateway.stop();

    // Started while the cluster is down: from the copy, with a warning.
    gateway = await startGateway({ keyStore: cluster.url, args: [...cluster.accessFlags, '-state-dir', dir, '-console-out', '-key-refresh', '1s'] });
    assert.match(
      gateway.stderr(),
      /WARNING: etcd key store \S+: cannot list keys: .*; starting from the last-known-good key copy \S+polymur-keys\.last-known-good\.json \(\d+ keys, saved \S+\) until the store answers/,
    );
    assert.equal(await ping(gateway, key), 200);
    assert.equal(await scrapeCounter(gateway.statPort, 'polymur_key_store_up'), 0);

    // Without a state directory there is no copy: refused as before, saying why.
    const bare = startProgram(
      'gateway',
      [...cluster.flags, '-listen-addr', '127.0.0.1', '-listen-http-port', '0', '-stat-addr', '127.0.0.1:0', '-api-addr', '127.0.0.1:0', '-console-out'],
      { STATE_DIRECTORY: '' },
    );
    const exit = await bare.exited;
    assert.notEqual(exit.code, 0);
    assert.match(
      bare.stderr(),
      /cannot start: etcd key store \S+: cannot list keys: .*; no last-known-good key copy \(one is kept in -state-dir or \$STATE_DIRECTORY: none is set\)/,
    );

    // The cluster is back: said once, the gauge 1.
    await Promise.all([0, 1, 2].map((i) => cluster.startMember(i)));
    await gateway.waitForLog(/API key store etcds \S+ is readable again/, 30_000);
    assert.equal(await scrapeCounter(gateway.statPort, 'polymur_key_store_up'), 1);
    assert.equal(gateway.stderr().match(/is readable again/g)?.length, 1);
  } finally {
    await gateway.stop();
  }
});

async function until(check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 100));
  }
}
