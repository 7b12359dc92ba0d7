// The keys as a real gateway judges them, over real TLS with raw HTTP (so that an empty header is
// sent as such), each attack beside a well-behaved client: an empty key never authenticates; keys
// made by polymur-keys are kept hashed and work, entries as the original wrote them (plaintext)
// too, in a file and in a real etcd, while the hash itself is no key; a key file missing at start,
// deleted while running, or readable by others.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { startEtcd, type Etcd } from '../helpers/etcd.js';
import { scrapeCounter } from '../helpers/points.js';
import { runToExit } from '../../harness/programs.js';
import { rawConnect, rawPost } from '../helpers/raw-http.js';
import { startGateway, writeKeyFile, type GatewayProcess } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

type Gateway = GatewayProcess & { cert: { cert: Buffer } };

const KEY = 'well-behaved-key-0123456789abcdef';
/** A key as the Go original's pgw-key made them, stored as is. */
const LEGACY_KEY = '0a8208f91d178f2b634fc0f6';
const hashed = (key: string): string => `sha256:${createHash('sha256').update(key).digest('hex')}`;

async function ping(gateway: Gateway, key: string): Promise<string> {
  const r = await rawPost(gateway.port, gateway.cert.cert, '/ping', key, Buffer.alloc(0));
  return `${r.status} ${r.body}`;
}

async function create(store: string, name: string): Promise<string> {
  const r = await runToExit('keys', ['-key-store', store, 'create', name]);
  assert.equal(r.code, 0, r.stderr);
  return /with key (\S+)/.exec(r.stdout)![1]!;
}

test('an empty X-Polymur-Key never authenticates, not even against a "" entry or the hash of ""; a valid client loses nothing', async () => {
  const sink = await startTcpSink();
  const file = writeKeyFile({ empty: '', 'empty-hash': hashed(''), site1: KEY });
  const gateway = await startGateway({ keyFile: file, args: ['-destinations', sink.address] });
  try {
    await gateway.waitForLog(/entries that authenticate nothing: "empty" \(the key is empty\)/);
    const body = gzipSync('attack.point 1 1700000000\n');
    assert.equal(await ping(gateway, ''), '401 invalid key');
    const ingest = await rawPost(gateway.port, gateway.cert.cert, '/ingest', '', body);
    assert.equal(`${ingest.status} ${ingest.body}`, '401 invalid key');
    // No header at all.
    const c = await rawConnect(gateway.port, gateway.cert.cert);
    await c.write('POST /ping HTTP/1.1\r\nHost: localhost\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
    const none = await c.response;
    assert.equal(`${none.status} ${none.body}`, '401 invalid key');

    assert.equal(await ping(gateway, KEY), '200 key is valid\n');
    const points = Array.from({ length: 100 }, (_, i) => `good.point ${i} 1700000000\n`);
    for (let i = 0; i < points.length; i += 10) {
      const r = await rawPost(gateway.port, gateway.cert.cert, '/ingest', KEY, gzipSync(points.slice(i, i + 10).join('')));
      assert.equal(`${r.status} ${r.body}`, '200 Batch Received\n');
    }
    await sink.waitForLines(100, 10_000);
    assert.deepEqual(
      sink.lines,
      points.map((p) => p.trimEnd()),
      'every valid point arrived, no attack point did',
    );
    assert.equal(await scrapeCounter(gateway.statPort, 'polymur_auth_failures_total'), 3);
    process.stdout.write('# empty key: 3 attempts (ping, ingest, no header) all 401; valid client: 100 points sent, 100 arrived\n');
  } finally {
    await gateway.stop();
    await sink.close();
  }
});

/** A key from polymur-keys and the original's plaintext entry both work; the stored hash does not. */
async function hashedAndPlaintext(gateway: Gateway, store: string, raw: (name: string) => Promise<string>): Promise<void> {
  assert.equal(await ping(gateway, LEGACY_KEY), '200 key is valid\n');
  const key = await create(store, 'site2');
  await gateway.waitForLog(/API keys refreshed: 1 new, 0 removed/);
  assert.equal(await raw('site2'), hashed(key), 'the store keeps the hash, not the key');
  assert.equal(await ping(gateway, key), '200 key is valid\n');
  await gateway.waitForLog(/key for site2 is valid/);
  assert.equal(await ping(gateway, hashed(key)), '401 invalid key', 'a copy of the store is no key');
  assert.equal(await ping(gateway, key.slice(0, -1)), '401 invalid key');
  assert.equal(await ping(gateway, LEGACY_KEY), '200 key is valid\n');
  const listed = await runToExit('keys', ['-key-store', store, 'list', 'all']);
  assert.equal(listed.stdout, `legacy: ${LEGACY_KEY}\nsite2: ${hashed(key)}\n`);
  assert.doesNotMatch(gateway.stderr(), /has mode/, 'a 0600 key file raises no warning');
}

test('file store: a key made by polymur-keys (kept hashed) and a plaintext entry as the original wrote it both authenticate', async () => {
  const file = writeKeyFile({ legacy: LEGACY_KEY });
  const gateway = await startGateway({ keyFile: file, args: ['-console-out'] });
  try {
    await hashedAndPlaintext(gateway, file.url, async (name) => (JSON.parse(readFileSync(file.path, 'utf8')) as Record<string, string>)[name]!);
  } finally {
    await gateway.stop();
  }
});

test('etcd store: a key made by polymur-keys (kept hashed) and a plaintext entry as the original wrote it both authenticate', async () => {
  let etcd: Etcd | undefined;
  let gateway: Gateway | undefined;
  try {
    etcd = await startEtcd();
    await etcd.ctl('put', 'polymur/gateway/keys/legacy', LEGACY_KEY);
    const store = `etcd://${etcd.endpoint}`;
    gateway = await startGateway({ keyStore: store, args: ['-console-out'] });
    const ctl = etcd;
    await hashedAndPlaintext(gateway, store, async (name) => (await ctl.ctl('get', `polymur/gateway/keys/${name}`, '--print-value-only')).trimEnd());
  } finally {
    await gateway?.stop();
    await etcd?.stop();
  }
});

test('a key file missing at start: a warning, every key refused, and keys work once polymur-keys creates it', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'polymur-nokeys-')), 'keys.json');
  const gateway = await startGateway({ keyStore: `file:${path}`, args: ['-console-out'] });
  try {
    await gateway.waitForLog(new RegExp(`WARNING: key store file ${path} does not exist: every key is refused until it is created`));
    assert.equal(await ping(gateway, KEY), '401 invalid key');
    const key = await create(`file:${path}`, 'first');
    await gateway.waitForLog(/API keys refreshed: 1 new, 0 removed/);
    assert.equal(await ping(gateway, key), '200 key is valid\n');
  } finally {
    await gateway.stop();
  }
});

test('the key file deleted while the gateway runs: the last keys stay, said once; a new file is picked up', async () => {
  const file = writeKeyFile({ site1: KEY });
  const gateway = await startGateway({ keyFile: file, args: ['-console-out'] });
  try {
    assert.equal(await ping(gateway, KEY), '200 key is valid\n');
    unlinkSync(file.path);
    const failed = /API key refresh from file \S+ failed, keeping the 1 known keys: key store file \S+ does not exist/;
    await gateway.waitForLog(failed);
    assert.equal(await ping(gateway, KEY), '200 key is valid\n');
    assert.equal(await ping(gateway, 'guess'), '401 invalid key');
    const key = await create(file.url, 'site2'); // a new file, with only what is created now
    await gateway.waitForLog(/API keys refreshed: 1 new, 1 removed/);
    assert.match(gateway.stderr(), /API key store file \S+ is readable again/);
    assert.equal(
      gateway
        .stderr()
        .split('\n')
        .filter((l) => failed.test(l)).length,
      1,
    );
    assert.equal(await ping(gateway, key), '200 key is valid\n');
    assert.equal(await ping(gateway, KEY), '401 invalid key');
  } finally {
    await gateway.stop();
  }
});

test('a key file its group or everyone can read is a warning at start naming the mode', async () => {
  for (const [mode, who] of [
    [0o640, 'its group'],
    [0o644, 'its group and everyone'],
  ] as const) {
    const file = writeKeyFile({ site1: KEY });
    chmodSync(file.path, mode);
    const gateway = await startGateway({ keyFile: file, args: ['-console-out'] });
    try {
      await gateway.waitForLog(new RegExp(`WARNING: key store ${file.path} has mode 0${mode.toString(8)}: ${who} can read or change the API keys; chmod 600 it`));
      assert.equal(await ping(gateway, KEY), '200 key is valid\n');
    } finally {
      await gateway.stop();
    }
  }
});
