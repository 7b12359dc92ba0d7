// polymur-keys (src/cli/keys.ts) as a real process against file: and etcd:// stores: the original
// pgw-key's commands and wording, exit codes (0 done, 1 refused, 2 usage), and a running gateway
// picking up a created key and losing a deleted one, seen through its own log and /ping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { runToExit } from '../../harness/programs.js';
import { startEtcd, type Etcd } from '../helpers/etcd.js';
import { startGateway, writeKeyFile, type GatewayProcess } from '../../harness/system.js';

const keys = (store: string, ...args: string[]) => runToExit('keys', ['-key-store', store, ...args]);

const KEY = /^[0-9a-f]{40}$/;

/** What a store must keep for a key made by polymur-keys: its SHA-256, never the key. */
const hashed = (key: string): string => `sha256:${createHash('sha256').update(key).digest('hex')}`;

/** Every command, good and bad, against one store; `raw` reads name -> entry without our code. */
async function exerciseStore(store: string, raw: () => Promise<Record<string, string>>): Promise<void> {
  const created = await keys(store, 'create', 'alice');
  assert.equal(created.code, 0, created.stderr);
  const m = /^Successfully registered alice with key (\S+)\n$/.exec(created.stdout);
  assert.ok(m, created.stdout);
  const aliceKey = m[1]!;
  assert.match(aliceKey, KEY);
  assert.deepEqual(await raw(), { alice: hashed(aliceKey) }, 'the store keeps the hash, not the key');

  const bob = await keys(store, 'create', 'bob');
  const bobKey = /with key (\S+)/.exec(bob.stdout)![1]!;
  assert.notEqual(bobKey, aliceKey);

  const again = await keys(store, 'create', 'alice');
  assert.deepEqual([again.code, again.stdout, again.stderr], [1, '', 'Key alice already exists\n']);
  assert.deepEqual(await raw(), { alice: hashed(aliceKey), bob: hashed(bobKey) }, 'a refused create changes nothing');

  assert.deepEqual(await keys(store, 'list', 'names'), { code: 0, signal: null, stdout: 'alice\nbob\n', stderr: '' });
  assert.deepEqual(await keys(store, 'list', 'all'), { code: 0, signal: null, stdout: `alice: ${hashed(aliceKey)}\nbob: ${hashed(bobKey)}\n`, stderr: '' });

  const regen = await keys(store, 'regen', 'alice');
  assert.equal(regen.code, 0, regen.stderr);
  const newKey = /^Successfully regenerated alice with key (\S+)\n$/.exec(regen.stdout)?.[1];
  assert.ok(newKey !== undefined && KEY.test(newKey) && newKey !== aliceKey, regen.stdout);
  assert.deepEqual(await raw(), { alice: hashed(newKey), bob: hashed(bobKey) });

  const deleted = await keys(store, 'delete', 'bob');
  assert.deepEqual([deleted.code, deleted.stdout], [0, 'Successfully deleted bob\n']);
  assert.deepEqual(await raw(), { alice: hashed(newKey) });
  for (const cmd of ['delete', 'regen']) {
    const missing = await keys(store, cmd, 'bob');
    assert.deepEqual([missing.code, missing.stdout, missing.stderr], [1, '', "Key bob doesn't exist\n"], cmd);
  }
  assert.deepEqual(await raw(), { alice: hashed(newKey) });
}

test('polymur-keys against a file store: create, list names, list all, regen, delete, and refusals', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'polymur-keys-cli-')), 'keys.json');
  await exerciseStore(`file:${path}`, async () => JSON.parse(readFileSync(path, 'utf8')) as Record<string, string>);
  // The environment names the store too (POLYMUR_<FLAG>), as for every program.
  const viaEnv = await runToExit('keys', ['list', 'names'], { POLYMUR_KEY_STORE: `file:${path}` });
  assert.deepEqual([viaEnv.code, viaEnv.stdout], [0, 'alice\n']);
});

test('polymur-keys against etcd: the same commands, keys under polymur/gateway/keys/<name>', async () => {
  const etcd = await startEtcd();
  try {
    // A key the original pgw-key registered under a name we would not create: still ours to manage.
    await etcd.ctl('put', 'polymur/gateway/keys/legacy.site a', '0a8208f91d178f2b634fc0f6');
    assert.deepEqual(await keys(`etcd://${etcd.endpoint}`, 'list', 'all'), { code: 0, signal: null, stdout: 'legacy.site a: 0a8208f91d178f2b634fc0f6\n', stderr: '' });
    const regen = await keys(`etcd://${etcd.endpoint}`, 'regen', 'legacy.site a');
    assert.match(regen.stdout, /^Successfully regenerated legacy\.site a with key [0-9a-f]{40}\n$/);
    assert.deepEqual((await keys(`etcd://${etcd.endpoint}`, 'delete', 'legacy.site a')).stdout, 'Successfully deleted legacy.site a\n');
    const raw = async (): Promise<Record<string, string>> => {
      const out = (await etcd.ctl('get', '--prefix', 'polymur/gateway/keys/')).split('\n').filter((l) => l !== '');
      const entries: Record<string, string> = {};
      for (let i = 0; i < out.length; i += 2) entries[out[i]!.slice('polymur/gateway/keys/'.length)] = out[i + 1]!;
      return entries;
    };
    await exerciseStore(`etcd://${etcd.endpoint}`, raw);
  } finally {
    await etcd.stop();
  }
});

test('usage errors print the usage and exit 2; store errors exit 1 with the reason', async () => {
  const store = writeKeyFile({ alice: 'k' }).url;
  const usage =
    /Usage: polymur-keys \[-key-store URL\] \[-state-dir DIR\] <command>\nCommands:\n\tlist names\t.*\n\tlist all\t.*\n\tcreate NAME\t.*\n\tregen NAME\t.*\n\tdelete NAME\t/;
  const cases: Array<[string[], RegExp]> = [
    [[], /^no command given\n/],
    [['bogus'], /^Not a valid command: bogus\n/],
    [['list'], /^polymur-keys list needs names or all\n/],
    [['list', 'keys'], /^polymur-keys list keys is invalid\n/],
    [['list', 'names', 'extra'], /^polymur-keys list names extra is invalid\n/],
    [['create'], /^polymur-keys create takes one NAME\n/],
    [['create', 'a', 'b'], /^polymur-keys create takes one NAME\n/],
    [['delete'], /^polymur-keys delete takes one NAME\n/],
    [['create', 'dots.make.paths'], /^invalid name "dots\.make\.paths"/],
    [['create', 'sp ace'], /^invalid name "sp ace"/],
  ];
  for (const [args, message] of cases) {
    const r = await keys(store, ...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.stdout, '');
    assert.match(r.stderr, message, args.join(' '));
    assert.match(r.stderr, usage, args.join(' '));
  }
  const badFlag = await runToExit('keys', ['-nope', 'list', 'names']);
  assert.equal(badFlag.code, 2);
  assert.match(badFlag.stderr, /^flag provided but not defined: -nope\n/);

  const badStore = await keys('redis://127.0.0.1:1', 'list', 'names');
  assert.deepEqual(
    [badStore.code, badStore.stderr],
    [1, 'unsupported key store "redis://127.0.0.1:1": use file:PATH, etcd://HOST:PORT, etcds://HOST:PORT or consul://HOST:PORT\n'],
  );
  const broken = writeKeyFile({});
  writeFileSync(broken.path, '{oops');
  const unreadable = await keys(broken.url, 'create', 'alice');
  assert.equal(unreadable.code, 1);
  assert.match(unreadable.stderr, /is not valid JSON/);
  assert.equal(readFileSync(broken.path, 'utf8'), '{oops');
});

/** POST /ping with the key: the gateway's verdict. */
async function ping(gateway: GatewayProcess & { cert: { cert: Buffer } }, key: string): Promise<[number, string]> {
  const dispatcher = new Agent({ connect: { ca: gateway.cert.cert } });
  try {
    const res = await fetch(`${gateway.url}/ping`, { method: 'POST', headers: { 'X-Polymur-Key': key }, dispatcher });
    return [res.status, await res.text()];
  } finally {
    await dispatcher.close();
  }
}

/** Creates, regenerates and deletes a key with polymur-keys while the gateway runs. */
async function liveChanges(gateway: GatewayProcess & { cert: { cert: Buffer } }, store: string): Promise<void> {
  const created = await keys(store, 'create', 'site1');
  const key = /with key (\S+)/.exec(created.stdout)![1]!;
  await gateway.waitForLog(/API keys refreshed: 1 new, 0 removed/);
  assert.deepEqual(await ping(gateway, key), [200, 'key is valid\n']);
  await gateway.waitForLog(/key for site1 is valid/);

  const regen = await keys(store, 'regen', 'site1');
  const newKey = /with key (\S+)/.exec(regen.stdout)![1]!;
  await gateway.waitForLog(/API keys refreshed: 1 new, 1 removed/);
  assert.deepEqual(await ping(gateway, key), [401, 'invalid key']);
  assert.deepEqual(await ping(gateway, newKey), [200, 'key is valid\n']);

  await keys(store, 'delete', 'site1');
  await gateway.waitForLog(/API keys refreshed: 0 new, 1 removed/);
  assert.deepEqual(await ping(gateway, newKey), [401, 'invalid key']);
}

test('a running gateway (file store) picks up a created key and loses a deleted one, without a restart', async () => {
  const file = writeKeyFile({});
  const gateway = await startGateway({ keyFile: file, args: ['-console-out'] });
  try {
    await liveChanges(gateway, file.url);
  } finally {
    await gateway.stop();
  }
});

test('a running gateway (etcd store) picks up a created key and loses a deleted one, without a restart', async () => {
  let etcd: Etcd | undefined;
  let gateway: (GatewayProcess & { cert: { cert: Buffer } }) | undefined;
  try {
    etcd = await startEtcd();
    const store = `etcd://${etcd.endpoint}`;
    gateway = await startGateway({ keyStore: store, args: ['-console-out'] });
    await liveChanges(gateway, store);
  } finally {
    await gateway?.stop();
    await etcd?.stop();
  }
});
