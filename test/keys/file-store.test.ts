// The file key store (src/keys/file-store.ts): the README's JSON format {"name": "key"}, written
// atomically (temporary file + rename, mode 0600), clear errors for a broken file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, fstatSync, mkdtempSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFileKeyStore } from '../../src/keys/file-store.js';
import { openKeyStore } from '../../src/keys/open-store.js';
import { DEFAULT_KEY_PREFIX, KeyStoreError, KeyStoreMissing, parseStoreUrl } from '../../src/keys/store.js';
import { writeKeyFile } from '../../harness/key-file.js';

const tempPath = (): string => join(mkdtempSync(join(tmpdir(), 'polymur-filestore-')), 'keys.json');

test('a missing file is a KeyStoreMissing to list, empty to the rest; put, get, list and delete round-trip through the documented JSON', async () => {
  const path = tempPath();
  const store = createFileKeyStore(path);
  await assert.rejects(store.list(), (err: Error) => err instanceof KeyStoreMissing && err.message === `key store file ${path} does not exist`);
  assert.equal(await store.get('alice'), undefined);
  await store.put('alice', 'k-alice');
  await store.put('bob', 'k-bob');
  await store.put('alice', 'k-alice-2');
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { alice: 'k-alice-2', bob: 'k-bob' });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(
    await store.list(),
    new Map([
      ['alice', 'k-alice-2'],
      ['bob', 'k-bob'],
    ]),
  );
  assert.equal(await store.delete('alice'), true);
  assert.equal(await store.delete('alice'), false);
  assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { bob: 'k-bob' });
  assert.deepEqual(readdirSync(join(path, '..')), ['keys.json'], 'no temporary file left behind');
  await store.close();
});

test('putAll writes many entries in one rewrite of the file: with "absent" the names there already are kept, and the names written returned', async () => {
  const path = tempPath();
  const store = createFileKeyStore(path);
  await store.put('alice', 'k-alice');
  const many = new Map(Array.from({ length: 2000 }, (_, i) => [`site-${i}`, `k-${i}`]));
  many.set('alice', 'k-alice-2');
  const written = await store.putAll!(many, 'absent');
  assert.equal(written.size, 2000);
  assert.equal(written.has('alice'), false);
  const after = await store.list();
  assert.equal(after.size, 2001);
  assert.equal(after.get('alice'), 'k-alice', 'kept without overwrite');
  assert.equal(after.get('site-1999'), 'k-1999');
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.deepEqual(await store.putAll!(new Map([['alice', 'k-alice-3']])), new Set(['alice']));
  assert.equal(await store.get('alice'), 'k-alice-3', 'replaced without a condition');
  assert.deepEqual(await store.putAll!(new Map([['alice', 'k-alice-4']]), 'absent'), new Set(), 'nothing written');
  assert.equal(await store.get('alice'), 'k-alice-3');
});

test('a file written by hand in the README format is read as name -> key', async () => {
  const file = writeKeyFile({ 'site-a': 'key-a', site_b: 'key-b' });
  const store = openKeyStore(file.url);
  assert.equal(store.description, `file ${file.path}`);
  assert.deepEqual(
    await store.list(),
    new Map([
      ['site-a', 'key-a'],
      ['site_b', 'key-b'],
    ]),
  );
  assert.equal(await store.get('site_b'), 'key-b');
  assert.deepEqual(await openKeyStore(file.path).list(), await store.list(), 'a bare path is a file store');
});

test('writes replace the file by rename: a concurrent reader only ever sees a whole file', async () => {
  const path = tempPath();
  const store = createFileKeyStore(path);
  // A store big enough that an in-place write would be seen half-done.
  for (let i = 0; i < 20; i++) await store.put(`bulk${i}`, 'k'.repeat(20_000));
  // Held open, the original file shows whether it was rewritten in place or replaced.
  const original = openSync(path, 'r');
  let writing = true;
  let reads = 0;
  const reader = (async () => {
    while (writing) {
      const text = await readFile(path, 'utf8');
      assert.doesNotThrow(() => JSON.parse(text), `read ${reads}: a partial file (${text.length} bytes)`);
      reads++;
    }
  })();
  try {
    for (let i = 0; i < 40; i++) await store.put(`name${i}`, `key${i}`);
    assert.equal(fstatSync(original).nlink, 0, 'replaced, not rewritten in place');
  } finally {
    writing = false;
    await reader;
    closeSync(original);
  }
  assert.ok(reads > 0);
  assert.equal((await store.list()).size, 60);
});

test('broken files and failed writes are KeyStoreErrors that say what is wrong', async () => {
  const path = tempPath();
  const store = createFileKeyStore(path);
  const cases: Array<[string, RegExp]> = [
    ['{"a": ', /is not valid JSON .*expected \{"name": "key", \.\.\.\}/],
    ['["a", "b"]', /must hold a JSON object/],
    ['"text"', /must hold a JSON object/],
    ['null', /must hold a JSON object/],
    ['{"a": 5}', /the key of "a" is not a string/],
  ];
  for (const [text, message] of cases) {
    writeFileSync(path, text);
    await assert.rejects(store.list(), (err: Error) => err instanceof KeyStoreError && message.test(err.message), text);
    await assert.rejects(store.put('x', 'y'), KeyStoreError, 'a write never replaces a file it cannot read');
    assert.equal(readFileSync(path, 'utf8'), text);
  }
  const nowhere = createFileKeyStore(join(path, '..', 'no-such-dir', 'keys.json'));
  await assert.rejects(nowhere.put('a', 'b'), (err: Error) => err instanceof KeyStoreError && /cannot write key store/.test(err.message));
  assert.deepEqual(readdirSync(join(path, '..')), ['keys.json']);
});

test('store URLs: file:, bare paths, etcd:// and consul:// with optional prefix; anything else is refused', async () => {
  assert.deepEqual(parseStoreUrl('etcd://10.0.0.1:2379'), { endpoints: ['10.0.0.1:2379'], prefix: DEFAULT_KEY_PREFIX });
  assert.equal(DEFAULT_KEY_PREFIX, 'polymur/gateway/keys/', "the original's layout");
  assert.deepEqual(parseStoreUrl('etcd://a:1,b:2/fleet/keys'), { endpoints: ['a:1', 'b:2'], prefix: 'fleet/keys/' });
  assert.deepEqual(parseStoreUrl('consul://c:8500/x/'), { endpoints: ['c:8500'], prefix: 'x/' });
  assert.throws(() => parseStoreUrl('etcd:///prefix'), /names no host/);
  assert.throws(
    () => openKeyStore('redis://h:1'),
    (err: Error) => err instanceof KeyStoreError && /unsupported key store "redis:\/\/h:1"/.test(err.message),
  );
  const etcd = openKeyStore('etcd://127.0.0.1:1');
  try {
    assert.equal(etcd.description, 'etcd 127.0.0.1:1/polymur/gateway/keys/');
  } finally {
    await etcd.close();
  }
});
