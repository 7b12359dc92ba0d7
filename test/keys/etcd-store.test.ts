// The etcd key store (src/keys/etcd-store.ts) against a real etcd (Debian's etcd-server): the
// original's layout polymur/gateway/keys/<name> = <key>, as etcdctl sees it; keys written by other
// tools read back; a watch carrying a revocation to a running cache at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKeyCache } from '../../src/keys/cache.js';
import { createEtcdKeyStore } from '../../src/keys/etcd-store.js';
import { KeyStoreError } from '../../src/keys/store.js';
import { startEtcd } from '../helpers/etcd.js';
import { logLines } from '../helpers/log-lines.js';

test("etcd store: the original layout, round trips, other tools' keys, custom prefixes, the watch", async () => {
  const etcd = await startEtcd();
  const store = createEtcdKeyStore(`etcd://${etcd.endpoint}`);
  const fleet = createEtcdKeyStore(`etcd://${etcd.endpoint}/fleet/b`);
  const logs = logLines();
  const cache = createKeyCache({ store: createEtcdKeyStore(`etcd://${etcd.endpoint}`), refreshMs: 600_000, log: logs.log });
  try {
    assert.deepEqual(await store.list(), new Map());
    await store.put('alice', 'key-alice');
    await store.put('bob', 'key-bob');
    assert.equal(await etcd.ctl('get', '--prefix', 'polymur/gateway/keys/'), 'polymur/gateway/keys/alice\nkey-alice\npolymur/gateway/keys/bob\nkey-bob\n');
    // Written by etcdctl, as an operator (or another tool) would; and keys outside the prefix.
    await etcd.ctl('put', 'polymur/gateway/keys/carol', 'key-carol');
    await etcd.ctl('put', 'polymur/gateway/other', 'not-a-key');
    await etcd.ctl('put', 'polymur/gateway/keys', 'the-prefix-without-slash');
    assert.deepEqual(
      await store.list(),
      new Map([
        ['alice', 'key-alice'],
        ['bob', 'key-bob'],
        ['carol', 'key-carol'],
      ]),
    );
    assert.equal(await store.get('carol'), 'key-carol');
    assert.equal(await store.get('nobody'), undefined);
    assert.equal(await store.delete('bob'), true);
    assert.equal(await store.delete('bob'), false);
    assert.equal(await etcd.ctl('get', 'polymur/gateway/keys/bob'), '');

    await fleet.put('dave', 'key-dave');
    assert.equal(await etcd.ctl('get', 'fleet/b/dave', '--print-value-only'), 'key-dave\n');
    assert.deepEqual(await fleet.list(), new Map([['dave', 'key-dave']]));
    assert.equal((await store.list()).has('dave'), false);

    // A running cache: the watch brings a new key and a revocation long before its refresh period.
    await cache.start();
    assert.equal(cache.lookup('key-carol'), 'carol');
    let from = logs.lines.length;
    await etcd.ctl('put', 'polymur/gateway/keys/erin', 'key-erin');
    await logs.waitFor(/^API keys refreshed: 1 new, 0 removed$/, { from });
    assert.equal(cache.lookup('key-erin'), 'erin');
    from = logs.lines.length;
    await store.delete('carol');
    await logs.waitFor(/^API keys refreshed: 0 new, 1 removed$/, { from });
    assert.equal(cache.lookup('key-carol'), undefined);
  } finally {
    await cache.close();
    await store.close();
    await fleet.close();
    await etcd.stop();
  }
});

test('etcd store: an unreachable etcd is a KeyStoreError naming the endpoint', async () => {
  const etcd = await startEtcd();
  const endpoint = etcd.endpoint;
  await etcd.stop();
  const store = createEtcdKeyStore(`etcd://${endpoint}`);
  try {
    const started = Date.now();
    await assert.rejects(store.list(), (err: Error) => err instanceof KeyStoreError && err.message.startsWith(`etcd key store ${endpoint}: cannot list keys:`));
    process.stdout.write(`# unreachable etcd reported after ${Date.now() - started} ms\n`);
  } finally {
    await store.close();
  }
});
