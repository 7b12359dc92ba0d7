// polymur-keys run many times at once against one file store (the security issue: of 10
// simultaneous creates that all reported success, 6-8 were in the file, and a reported delete was
// undone). Real processes, a real file and a real etcd: every change a run reports is in the store afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { startEtcd } from '../helpers/etcd.js';
import { runToExit } from '../../harness/programs.js';
import { writeKeyFile } from '../../harness/system.js';

const hashed = (key: string): string => `sha256:${createHash('sha256').update(key).digest('hex')}`;

test('20 concurrent polymur-keys creates and deletes: every reported change is in the file', async () => {
  const existing = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`old${i}`, `plaintext-key-${i}`]));
  const file = writeKeyFile(existing);
  const keys = (...args: string[]) => runToExit('keys', ['-key-store', file.url, ...args]);

  const started = Date.now();
  const runs = await Promise.all([...Array.from({ length: 10 }, (_, i) => keys('create', `new${i}`)), ...Array.from({ length: 10 }, (_, i) => keys('delete', `old${i}`))]);
  const elapsed = Date.now() - started;

  const stored = JSON.parse(readFileSync(file.path, 'utf8')) as Record<string, string>;
  const created = new Map<string, string>();
  const deleted: string[] = [];
  for (const r of runs) {
    assert.equal(r.code, 0, r.stderr);
    const c = /^Successfully registered (\S+) with key (\S+)\n$/.exec(r.stdout);
    if (c) created.set(c[1]!, c[2]!);
    const d = /^Successfully deleted (\S+)\n$/.exec(r.stdout);
    if (d) deleted.push(d[1]!);
  }
  const kept = [...created].filter(([name, key]) => stored[name] === hashed(key)).length;
  const gone = deleted.filter((name) => stored[name] === undefined).length;
  process.stdout.write(`# 20 concurrent runs in ${elapsed} ms: ${created.size} creates reported, ${kept} in the file; ${deleted.length} deletes reported, ${gone} gone from it\n`);
  assert.deepEqual([created.size, deleted.length], [10, 10], 'every run reports its change');
  assert.equal(kept, 10, 'every reported create is in the file with its key');
  assert.equal(gone, 10, 'every reported delete stayed deleted');
  assert.deepEqual(Object.keys(stored).sort(), [...created.keys()].sort());
  assert.deepEqual(readdirSync(dirname(file.path)), ['keys.json'], 'no lock or temporary file left behind');
});

test('concurrent creates of one name: exactly one succeeds, and the file holds its key', async () => {
  const file = writeKeyFile({});
  const runs = await Promise.all(Array.from({ length: 4 }, () => runToExit('keys', ['-key-store', file.url, 'create', 'contested'])));
  const winners = runs.filter((r) => r.code === 0);
  assert.equal(winners.length, 1, runs.map((r) => r.stdout + r.stderr).join(''));
  for (const r of runs.filter((x) => x.code !== 0)) assert.deepEqual([r.code, r.stderr], [1, 'Key contested already exists\n']);
  const key = /with key (\S+)/.exec(winners[0]!.stdout)![1]!;
  assert.deepEqual(JSON.parse(readFileSync(file.path, 'utf8')), { contested: hashed(key) });
});

test('concurrent creates of one name in etcd: the transaction lets exactly one through', async () => {
  const etcd = await startEtcd();
  try {
    const store = `etcd://${etcd.endpoint}`;
    const runs = await Promise.all(Array.from({ length: 4 }, () => runToExit('keys', ['-key-store', store, 'create', 'contested'])));
    const winners = runs.filter((r) => r.code === 0);
    assert.equal(winners.length, 1, runs.map((r) => r.stdout + r.stderr).join(''));
    const key = /with key (\S+)/.exec(winners[0]!.stdout)![1]!;
    assert.equal(await etcd.ctl('get', 'polymur/gateway/keys/contested', '--print-value-only'), `${hashed(key)}\n`);
  } finally {
    await etcd.stop();
  }
});
