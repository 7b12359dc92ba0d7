// polymur-keys import FILE: the JSON of `consul kv export polymur/gateway/keys/` (made here in
// Consul's format: an array of {"key","flags","value": base64}) into a file store and into etcd.
// The original's plaintext keys are stored hashed and still authenticate at a real gateway;
// entries outside the prefix are skipped and said; existing names are kept unless -overwrite;
// a file with an unusable entry imports nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hashedEntry } from '../../src/keys/entry.js';
import { startEtcd } from '../helpers/etcd.js';
import { post } from '../helpers/https-post.js';
import { runToExit } from '../../harness/programs.js';
import { startGateway, writeKeyFile } from '../../harness/system.js';

const keys = (store: string, ...args: string[]) => runToExit('keys', ['-key-store', store, ...args]);

/** A file as `consul kv export` writes it. */
function consulExport(entries: ReadonlyArray<[string, string]>): string {
  const path = join(mkdtempSync(join(tmpdir(), 'polymur-import-')), 'export.json');
  writeFileSync(
    path,
    JSON.stringify(
      entries.map(([key, value]) => ({ key, flags: 0, value: Buffer.from(value).toString('base64') })),
      null,
      '\t',
    ),
  );
  return path;
}

// Keys as the Go original's pgw-key made them: 24 hex characters.
const ALICE = '0a8208f91d178f2b634fc0f6';
const BOB = '5c1e3a9b7d2f4e6a8b0c1d2e';
const ORIGINAL = consulExport([
  ['polymur/gateway/keys/', ''],
  ['polymur/gateway/keys/alice', ALICE],
  ['polymur/gateway/keys/bob', BOB],
  ['polymur/other/setting', 'not a key'],
]);

test('import into a file store: keys stored hashed and accepted by a gateway, other entries skipped, existing names kept unless -overwrite', async (t) => {
  const file = writeKeyFile({ carol: hashedEntry('carol-key') });
  const stored = (): Record<string, string> => JSON.parse(readFileSync(file.path, 'utf8')) as Record<string, string>;
  const imported = await keys(file.url, 'import', ORIGINAL);
  assert.equal(imported.code, 0, imported.stderr);
  assert.equal(
    imported.stdout,
    `Imported alice\nImported bob\nImported 2 of 2 keys from ${ORIGINAL} into file ${file.path}; skipped 2 entries outside polymur/gateway/keys/: polymur/gateway/keys/, polymur/other/setting\n`,
  );
  assert.deepEqual(stored(), { carol: hashedEntry('carol-key'), alice: hashedEntry(ALICE), bob: hashedEntry(BOB) }, 'kept hashed: the store no longer hands the keys out');

  const gateway = await startGateway({ keyFile: file, args: ['-console-out'] });
  t.after(() => gateway.stop());
  const ping = async (key: string): Promise<number> => (await post(gateway.port, '/ping', { 'x-polymur-key': key }, Buffer.alloc(0), gateway.cert.cert)).status;
  assert.deepEqual([await ping(ALICE), await ping(BOB), await ping('carol-key')], [200, 200, 200], "the original's keys work as they did");

  const again = await keys(file.url, 'import', ORIGINAL);
  assert.deepEqual([again.code, again.stdout], [1, '']);
  assert.equal(again.stderr, `nothing imported: 2 names exist already in file ${file.path} (alice, bob); give -overwrite to replace their keys\n`);
  const changed = consulExport([
    ['polymur/gateway/keys/alice', 'ffffffffffffffffffffffff'],
    ['polymur/gateway/keys/dave', 'eeeeeeeeeeeeeeeeeeeeeeee'],
  ]);
  const overwritten = await keys(file.url, 'import', '-overwrite', changed);
  assert.equal(overwritten.code, 0, overwritten.stderr);
  assert.match(overwritten.stdout, /^Imported alice \(replaced\)\nImported dave\nImported 2 of 2 keys from /);
  assert.equal(stored().alice, hashedEntry('ffffffffffffffffffffffff'));
  assert.equal(stored().bob, hashedEntry(BOB), 'names not in the file are left alone');
});

test('import refuses a file it cannot read whole: not JSON, not base64, a key no proxy can send; nothing is written', async () => {
  const file = writeKeyFile({});
  const bad = (text: string): string => {
    const path = join(mkdtempSync(join(tmpdir(), 'polymur-import-')), 'export.json');
    writeFileSync(path, text);
    return path;
  };
  const cases: Array<[string, RegExp]> = [
    [bad('{"key": '), /is not valid JSON .*expected the output of consul kv export polymur\/gateway\/keys\//],
    [bad('{"key": "polymur/gateway/keys/a"}'), /must hold a JSON array/],
    [bad('[{"key":"polymur/gateway/keys/a","flags":0,"value":"%%%"}]'), /nothing imported, 1 entries cannot be: a: the value is not base64/],
    [
      consulExport([
        ['polymur/gateway/keys/ok', 'abc'],
        ['polymur/gateway/keys/nl', 'two\nlines'],
      ]),
      /nothing imported, 1 entries cannot be: nl: the key holds white space/,
    ],
    [consulExport([['polymur/gateway/keys/empty', '']]), /empty: the key is empty/],
    [join(tmpdir(), 'no-such-export.json'), /^cannot read /],
  ];
  const runs = await Promise.all(cases.map(([path]) => keys(file.url, 'import', path)));
  cases.forEach(([path, message], i) => {
    const r = runs[i]!;
    assert.deepEqual([r.code, r.stdout], [1, ''], `${path}: ${r.stderr}`);
    assert.match(r.stderr, message, path);
  });
  const usage = await keys(file.url, 'import');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^polymur-keys import takes one FILE/);
  assert.equal(readFileSync(file.path, 'utf8'), '{}', 'nothing written');
});

test('import into etcd: the same keys under polymur/gateway/keys/, hashed', async () => {
  const etcd = await startEtcd();
  try {
    const r = await keys(`etcd://${etcd.endpoint}`, 'import', ORIGINAL);
    assert.equal(r.code, 0, r.stderr);
    const out = (await etcd.ctl('get', '--prefix', 'polymur/gateway/keys/')).split('\n').filter((l) => l !== '');
    assert.deepEqual(out, ['polymur/gateway/keys/alice', hashedEntry(ALICE), 'polymur/gateway/keys/bob', hashedEntry(BOB)]);
  } finally {
    await etcd.stop();
  }
});
