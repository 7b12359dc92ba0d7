// The file store's lock (src/keys/file-lock.ts) with real lock files: a live holder is waited for
// up to the deadline and named when it is passed, a holder that died is taken over, and a lock file
// left without a pid is taken over only once it is clearly abandoned.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createFileKeyStore } from '../../src/keys/file-store.js';
import { KeyStoreError } from '../../src/keys/store.js';
import { writeKeyFile } from '../../harness/system.js';

/** The pid of a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  return child.pid!;
}

test('a lock held by a live process is waited for, then the change fails naming the holder; nothing is written', async () => {
  const file = writeKeyFile({ alice: 'k-alice' });
  const lock = `${file.path}.lock`;
  writeFileSync(lock, `${process.pid}\n`); // this test process: alive
  const store = createFileKeyStore(file.path, { lockWaitMs: 300 });
  const started = Date.now();
  await assert.rejects(
    store.put('bob', 'k-bob'),
    (err: Error) => err instanceof KeyStoreError && err.message.includes(`${lock} is held by pid ${process.pid}; gave up after 300 ms`),
  );
  const waited = Date.now() - started;
  assert.ok(waited >= 300 && waited < 3000, `waited ${waited} ms`);
  assert.deepEqual(JSON.parse(readFileSync(file.path, 'utf8')), { alice: 'k-alice' });
  assert.ok(existsSync(lock), 'a live holder keeps its lock');

  // Released while a writer waits: the writer goes on.
  const writing = createFileKeyStore(file.path, { lockWaitMs: 10_000 }).put('carol', 'k-carol');
  setTimeout(() => unlinkSync(lock), 200).unref();
  assert.equal(await writing, true);
  assert.deepEqual(JSON.parse(readFileSync(file.path, 'utf8')), { alice: 'k-alice', carol: 'k-carol' });
  assert.equal(existsSync(lock), false);
});

test('a lock left by a process that died is taken over', async () => {
  const file = writeKeyFile({ alice: 'k-alice' });
  writeFileSync(`${file.path}.lock`, `${await deadPid()}\n`);
  const started = Date.now();
  assert.equal(await createFileKeyStore(file.path, { lockWaitMs: 300 }).delete('alice'), true);
  process.stdout.write(`# stale lock taken over in ${Date.now() - started} ms\n`);
  assert.deepEqual(JSON.parse(readFileSync(file.path, 'utf8')), {});
  assert.equal(existsSync(`${file.path}.lock`), false);
});

test('a lock file without a pid is someone creating it; only an old one is taken over', async () => {
  const file = writeKeyFile({});
  const lock = `${file.path}.lock`;
  writeFileSync(lock, '');
  await assert.rejects(createFileKeyStore(file.path, { lockWaitMs: 200 }).put('a', 'k'), /is held by a process that has not written its pid/);
  const old = (Date.now() - 60_000) / 1000;
  utimesSync(lock, old, old);
  assert.equal(await createFileKeyStore(file.path, { lockWaitMs: 200 }).put('a', 'k'), true);
  assert.deepEqual(JSON.parse(readFileSync(file.path, 'utf8')), { a: 'k' });
});
