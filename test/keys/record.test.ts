// A tenant's stored record (src/keys/record.ts): the original's one-key value still reads, the JSON
// form carries two keys, expiries, limits and prefixes, bad values say why; and the cache refuses an
// expired key (on an injected clock) while the name's other key keeps working.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createKeyCache } from '../../src/keys/cache.js';
import { hashedEntry } from '../../src/keys/entry.js';
import { createFileKeyStore } from '../../src/keys/file-store.js';
import { formatRecord, parseRecord } from '../../src/keys/record.js';
import { logLines } from '../helpers/log-lines.js';
import { writeKeyFile } from '../../harness/key-file.js';

const HASH = hashedEntry('key-a');

test('values: the original form, the JSON form, and what is unusable', () => {
  assert.deepEqual(parseRecord('plain-key'), { record: { keys: [{ key: 'plain-key' }] } });
  assert.deepEqual(parseRecord(HASH), { record: { keys: [{ key: HASH }] } });
  const full = { keys: [{ key: HASH, expires: '2027-01-01T00:00:00.000Z' }, { key: 'new-key' }], limits: { pointsPerSecond: 100, burst: 500, maxNames: 10 }, allow: ['site1.'] };
  assert.deepEqual(parseRecord(JSON.stringify(full)), { record: full });
  const cases: Array<[string, RegExp]> = [
    ['', /empty/],
    ['{', /not valid JSON/],
    ['{"keys":[]}', /1 to 2 keys/],
    ['{"keys":[{"key":"a"},{"key":"b"},{"key":"c"}]}', /1 to 2 keys/],
    ['{"keys":[{"key":""}]}', /empty/],
    ['{"keys":[{"key":"a","expires":"soon"}]}', /ISO 8601/],
    ['{"keys":[{"key":"a"}],"limits":{"pointsPerSecond":-1}}', /limits.pointsPerSecond/],
    ['{"keys":[{"key":"a"}],"allow":[""]}', /non-empty prefixes/],
  ];
  for (const [value, why] of cases) {
    const r = parseRecord(value);
    assert.ok('unusable' in r && why.test(r.unusable), `${value}: ${JSON.stringify(r)}`);
  }
});

test('a record with one key and nothing else is written in the original form; anything more as JSON that reads back', () => {
  assert.equal(formatRecord({ keys: [{ key: HASH }] }), HASH);
  assert.equal(formatRecord({ keys: [{ key: HASH }], limits: {}, allow: [] }), HASH);
  const rotating = { keys: [{ key: HASH, expires: '2027-01-01T00:00:00.000Z' }, { key: hashedEntry('key-b') }] };
  assert.deepEqual(parseRecord(formatRecord(rotating)), { record: rotating });
});

test('the cache: both keys of a rotating name work; an expired one is refused and logged once; record() gives the limits', async () => {
  let nowMs = Date.parse('2026-12-01T00:00:00Z');
  const file = writeKeyFile({
    alice: JSON.stringify({ keys: [{ key: 'old-key', expires: '2026-12-02T00:00:00Z' }, { key: hashedEntry('new-key') }], limits: { pointsPerSecond: 5 } }),
    bob: 'bob-key',
  });
  const logs = logLines();
  const cache = createKeyCache({ store: createFileKeyStore(file.path), refreshMs: 0, log: logs.log, now: () => nowMs });
  try {
    await cache.start();
    assert.equal(cache.size(), 3);
    assert.deepEqual([cache.lookup('old-key'), cache.lookup('new-key'), cache.lookup('bob-key')], ['alice', 'alice', 'bob']);
    assert.deepEqual(cache.record('alice')?.limits, { pointsPerSecond: 5 });
    nowMs = Date.parse('2026-12-02T00:00:01Z');
    assert.deepEqual([cache.lookup('old-key'), cache.lookup('old-key'), cache.lookup('new-key')], [undefined, undefined, 'alice']);
    assert.equal(logs.lines.filter((l) => /API key of alice expired at 2026-12-02T00:00:00Z/.test(l)).length, 1);
  } finally {
    await cache.close();
  }
});
