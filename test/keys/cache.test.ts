// The gateway's key cache (src/keys/cache.ts) over a real file store: lookup by key, the original's
// `API keys refreshed: N new, N removed` line, changes picked up without a restart (by the file
// watch, and by the periodic refresh alone), a broken store keeping the known keys; hashed, empty
// and unusable entries; a store missing at start or gone while running.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { unlinkSync, writeFileSync } from 'node:fs';
import { createKeyCache, createStaticKeys } from '../../src/keys/cache.js';
import { createFileKeyStore } from '../../src/keys/file-store.js';
import { Registry } from '../../src/observe/metrics.js';
import { logLines } from '../helpers/log-lines.js';
import { until } from '../helpers/points.js';
import { writeKeyFile } from '../../harness/key-file.js';
import type { KeyStore } from '../../src/keys/store.js';

/** The store without its watch: only the periodic refresh can bring changes in. */
function withoutWatch(store: KeyStore): KeyStore {
  const { watch: _watch, ...rest } = store;
  return rest;
}

test('lookup by key; a change to the file reaches the running cache through the watch, and is logged', async () => {
  const file = writeKeyFile({ alice: 'key-alice', bob: 'key-bob' });
  const logs = logLines();
  // A refresh period far beyond the test: only the watch can bring changes in.
  const cache = createKeyCache({ store: createFileKeyStore(file.path), refreshMs: 600_000, log: logs.log });
  try {
    await cache.start();
    assert.deepEqual(logs.lines, ['Running API key sync', 'API keys refreshed: 2 new, 0 removed']);
    assert.equal(cache.lookup('key-alice'), 'alice');
    assert.equal(cache.lookup('key-bob'), 'bob');
    assert.equal(cache.lookup('key-ali'), undefined);
    assert.equal(cache.lookup('alice'), undefined, 'names are not keys');
    assert.equal(cache.size(), 2);

    // Another process (polymur-keys) writes through its own store: temp file + rename.
    const writer = createFileKeyStore(file.path);
    let from = logs.lines.length;
    await writer.put('carol', 'key-carol');
    await logs.waitFor(/^API keys refreshed: 1 new, 0 removed$/, { from });
    assert.equal(cache.lookup('key-carol'), 'carol');

    from = logs.lines.length;
    await writer.put('alice', 'key-alice-2'); // regen
    await logs.waitFor(/^API keys refreshed: 1 new, 1 removed$/, { from });
    assert.deepEqual([cache.lookup('key-alice'), cache.lookup('key-alice-2')], [undefined, 'alice']);

    // An editor writing the file in place is seen too.
    from = logs.lines.length;
    writeFileSync(file.path, JSON.stringify({ alice: 'key-alice-2', carol: 'key-carol' }));
    await logs.waitFor(/^API keys refreshed: 0 new, 1 removed$/, { from });
    assert.equal(cache.lookup('key-bob'), undefined, 'revoked');
    assert.equal(cache.size(), 2);
  } finally {
    await cache.close();
  }
});

test('a reload of an unchanged store keeps what it built (the same records); a changed entry is read again', async () => {
  const file = writeKeyFile({ alice: 'key-alice', bob: JSON.stringify({ keys: [{ key: 'key-bob' }], limits: { pointsPerSecond: 10 } }) });
  const logs = logLines();
  const cache = createKeyCache({ store: withoutWatch(createFileKeyStore(file.path)), refreshMs: 0, log: logs.log });
  try {
    await cache.start();
    const [alice, bob] = [cache.record('alice'), cache.record('bob')];
    assert.deepEqual(await cache.refresh(), { added: 0, removed: 0, known: 2 });
    assert.equal(cache.record('alice'), alice, 'not parsed again');
    assert.equal(cache.record('bob'), bob);
    writeFileSync(file.path, JSON.stringify({ alice: 'key-alice', bob: JSON.stringify({ keys: [{ key: 'key-bob' }], limits: { pointsPerSecond: 20 } }) }));
    assert.deepEqual(await cache.refresh(), { added: 0, removed: 0, known: 2 });
    assert.equal(cache.record('bob')?.limits?.pointsPerSecond, 20, 'the new limit');
    assert.equal(cache.lookup('key-bob'), 'bob');
    assert.equal(logs.lines.filter((l) => l === 'API keys refreshed: 0 new, 0 removed').length, 2, 'every reload still says so');
  } finally {
    await cache.close();
  }
});

test('without a watch, the periodic refresh picks a change up', async () => {
  const file = writeKeyFile({ alice: 'key-alice' });
  const store = createFileKeyStore(file.path);
  const logs = logLines();
  const cache = createKeyCache({ store: withoutWatch(store), refreshMs: 100, log: logs.log });
  try {
    await cache.start();
    // Every sync logs its line, changes or not: bob's is one of the later ones.
    const from = logs.lines.length;
    await createFileKeyStore(file.path).put('bob', 'key-bob');
    await logs.waitFor(/^API keys refreshed: 1 new, 0 removed$/, { from });
    assert.equal(cache.lookup('key-bob'), 'bob');
  } finally {
    await cache.close();
  }
});

test('a store that cannot be read keeps the known keys, says so, and recovers', async () => {
  const file = writeKeyFile({ alice: 'key-alice' });
  const logs = logLines();
  const cache = createKeyCache({ store: createFileKeyStore(file.path), refreshMs: 600_000, log: logs.log });
  try {
    await cache.start();
    writeFileSync(file.path, '{"alice": "key-al'); // a half-written file from some other tool
    await logs.waitFor(/^API key refresh from file .*keys\.json failed, keeping the 1 known keys: key store .* is not valid JSON/);
    assert.equal(cache.lookup('key-alice'), 'alice');
    const from = logs.lines.length;
    writeFileSync(file.path, JSON.stringify({ alice: 'key-alice', bob: 'key-bob' }));
    await logs.waitFor(/^API keys refreshed: 1 new, 0 removed$/, { from });
    assert.equal(cache.lookup('key-bob'), 'bob');
  } finally {
    await cache.close();
  }
});

test('overlapping reloads cannot leave an older key set in place', async () => {
  const file = writeKeyFile({ alice: 'key-alice', bob: 'key-bob' });
  const store = createFileKeyStore(file.path);
  let release: () => void = () => undefined;
  const held = new Promise<void>((r) => (release = r));
  let calls = 0;
  // The first reload after start reads the real file, then is slow to come back: held until a
  // reload started after it has finished (or, when reloads take turns, until it is the only one).
  const slowOnce = {
    ...withoutWatch(store),
    list: async () => {
      const n = ++calls;
      const keys = await store.list();
      if (n === 2) await held;
      if (n === 3) setImmediate(release);
      return keys;
    },
  };
  const cache = createKeyCache({ store: slowOnce, refreshMs: 600_000, log: () => undefined });
  try {
    await cache.start();
    const stale = cache.refresh(); // reads alice and bob, then waits
    await createFileKeyStore(file.path).delete('bob');
    const fresh = cache.refresh(); // asked after bob's key was revoked
    if (calls === 2) release();
    await Promise.all([stale, fresh]);
    assert.equal(cache.lookup('key-bob'), undefined, 'a revoked key came back from an older read');
    assert.equal(cache.lookup('key-alice'), 'alice');
  } finally {
    await cache.close();
  }
});

test('a first load that fails is an error, not an empty key set', async () => {
  const file = writeKeyFile({});
  writeFileSync(file.path, 'not json');
  const cache = createKeyCache({ store: createFileKeyStore(file.path), log: () => undefined });
  await assert.rejects(cache.start(), /not valid JSON/);
  await cache.close();
});

test('-dev-mode static keys', () => {
  const keys = createStaticKeys(new Map([['dev', '123']]));
  assert.deepEqual([keys.lookup('123'), keys.lookup('1234'), keys.size()], ['dev', undefined, 1]);
});

test('hashed entries are looked up by their digest; an empty key never matches; unusable entries are reported once', async () => {
  const hashed = (key: string): string => `sha256:${createHash('sha256').update(key).digest('hex')}`;
  const file = writeKeyFile({ alice: hashed('key-alice'), legacy: 'key-legacy', empty: '', 'empty-hash': hashed(''), broken: 'sha256:xyz' });
  const logs = logLines();
  const cache = createKeyCache({ store: createFileKeyStore(file.path), refreshMs: 600_000, log: logs.log });
  try {
    await cache.start();
    assert.deepEqual([cache.lookup('key-alice'), cache.lookup('key-legacy'), cache.lookup(hashed('key-alice'))], ['alice', 'legacy', undefined]);
    assert.equal(cache.lookup(''), undefined);
    assert.equal(cache.size(), 3, 'alice, legacy and the hash of ""');
    const unusable = `API key store file ${file.path}: entries that authenticate nothing: "empty" (the key is empty), "broken" (a sha256: entry must be 64 lower-case hex digits)`;
    assert.deepEqual(logs.lines, ['Running API key sync', unusable, 'API keys refreshed: 3 new, 0 removed']);
    await cache.refresh();
    assert.equal(logs.lines.filter((l) => l === unusable).length, 1, 'said once while unchanged');
  } finally {
    await cache.close();
  }
});

test('a missing store at start: started with no keys, loaded() false, until the file appears', async () => {
  const file = writeKeyFile({});
  unlinkSync(file.path);
  const logs = logLines();
  const cache = createKeyCache({ store: createFileKeyStore(file.path), refreshMs: 600_000, log: logs.log });
  try {
    assert.equal(cache.loaded(), false);
    await cache.start();
    assert.deepEqual(logs.lines, ['Running API key sync', `WARNING: key store file ${file.path} does not exist: every key is refused until it is created`]);
    assert.deepEqual([cache.loaded(), cache.size(), cache.lookup('key-alice')], [false, 0, undefined]);
    await createFileKeyStore(file.path).put('alice', 'key-alice');
    await logs.waitFor(/^API keys refreshed: 1 new, 0 removed$/);
    assert.deepEqual([cache.loaded(), cache.lookup('key-alice')], [true, 'alice']);
    assert.ok(logs.lines.includes(`API key store file ${file.path} is readable again`));
  } finally {
    await cache.close();
  }
});

test('a store gone while running keeps the last keys and says so once, however often it is retried', async () => {
  const file = writeKeyFile({ alice: 'key-alice' });
  const store = createFileKeyStore(file.path);
  let reads = 0;
  const counted = { ...withoutWatch(store), list: () => (reads++, store.list()) };
  const logs = logLines();
  const registry = new Registry();
  const cache = createKeyCache({ store: counted, refreshMs: 20, log: logs.log, metrics: registry });
  try {
    await cache.start();
    unlinkSync(file.path);
    const from = reads;
    await until('ten failed reloads', () => reads >= from + 10, 10_000);
    const failures = logs.lines.filter((l) => l.includes('failed, keeping the 1 known keys: key store file'));
    assert.equal(failures.length, 1, logs.lines.join('\n'));
    assert.deepEqual([cache.loaded(), cache.lookup('key-alice')], [true, 'alice']);
    assert.ok(Number(/^polymur_key_refresh_errors_total (\d+)$/m.exec(registry.render())![1]) >= 9, 'every failure is counted');
  } finally {
    await cache.close();
  }
});
