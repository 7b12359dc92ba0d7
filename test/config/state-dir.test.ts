// -state-dir: relative state paths resolve against it, $STATE_DIRECTORY (systemd's StateDirectory=)
// is its default, else the working directory; and real programs run with STATE_DIRECTORY set keep
// their key file and dead letter there, not in their working directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveStateDir, stateKeyStore, statePath } from '../../src/config/state-dir.js';
import { runToExit } from '../../harness/programs.js';
import { scrapeCounter, until } from '../helpers/points.js';
import { startGateway, startProxy } from '../../harness/system.js';
import { sendText } from '../helpers/graphite-stream.js';
import { startTcpSink } from '../helpers/tcp-sink.js';
import { createCleanup } from '../helpers/cleanup.js';

test('state directory: the flag, else the first of $STATE_DIRECTORY, else the working directory; always absolute', () => {
  const cwd = '/srv/polymur';
  assert.equal(resolveStateDir('', {}, cwd), '/srv/polymur');
  assert.equal(resolveStateDir('', { STATE_DIRECTORY: '/var/lib/polymur' }, cwd), '/var/lib/polymur');
  assert.equal(resolveStateDir('', { STATE_DIRECTORY: '/var/lib/polymur:/var/lib/other' }, cwd), '/var/lib/polymur', 'several StateDirectory= paths: the first');
  assert.equal(resolveStateDir('', { STATE_DIRECTORY: '' }, cwd), '/srv/polymur', 'set but empty: the working directory');
  assert.equal(resolveStateDir('/data', { STATE_DIRECTORY: '/var/lib/polymur' }, cwd), '/data', 'the flag wins');
  assert.equal(resolveStateDir('state', {}, cwd), '/srv/polymur/state', 'a relative flag is relative to the working directory');
});

test('state paths: relative ones land in the state directory, absolute and empty ones are kept; etcd and consul stores untouched', () => {
  assert.equal(statePath('/var/lib/polymur', 'polymur-dead-letter.log'), '/var/lib/polymur/polymur-dead-letter.log');
  assert.equal(statePath('/var/lib/polymur', 'spool/q'), '/var/lib/polymur/spool/q');
  assert.equal(statePath('/var/lib/polymur', '/tmp/dead.log'), '/tmp/dead.log');
  assert.equal(statePath('/var/lib/polymur', ''), '', 'not configured (no spool) stays not configured');
  assert.equal(stateKeyStore('/var/lib/polymur', 'file:polymur-keys.json'), 'file:/var/lib/polymur/polymur-keys.json');
  assert.equal(stateKeyStore('/var/lib/polymur', 'keys.json'), 'file:/var/lib/polymur/keys.json', 'a bare path is a file store');
  assert.equal(stateKeyStore('/var/lib/polymur', 'file:/etc/polymur/keys.json'), 'file:/etc/polymur/keys.json');
  assert.equal(stateKeyStore('/var/lib/polymur', 'etcd://127.0.0.1:2379'), 'etcd://127.0.0.1:2379');
  assert.equal(stateKeyStore('/var/lib/polymur', 'consul://127.0.0.1:8500/p'), 'consul://127.0.0.1:8500/p');
  // Bare `consul` is the agent in CONSUL_HTTP_ADDR (MIGRATING.md), not a file named consul.
  assert.equal(stateKeyStore('/var/lib/polymur', 'consul'), 'consul');
});

test('STATE_DIRECTORY set: polymur-keys and the gateway share the default key file there, the proxy writes its default dead letter there', async (t) => {
  const state = mkdtempSync(join(tmpdir(), 'polymur-state-'));
  const env = { STATE_DIRECTORY: state };
  const created = await runToExit('keys', ['create', 'site'], env);
  assert.equal(created.code, 0, created.stderr);
  const key = /with key (\S+)/.exec(created.stdout)![1]!;
  assert.ok(existsSync(join(state, 'polymur-keys.json')), 'the key file is in $STATE_DIRECTORY');

  const defer = createCleanup(t);
  const sink = await startTcpSink();
  defer(() => sink.close());
  // The default -key-store (file:polymur-keys.json), relative: found in the state directory.
  const gateway = await startGateway({ keyStore: 'file:polymur-keys.json', env, args: ['-destinations', sink.address, '-max-batch-bytes', '4000'] });
  defer(() => gateway.stop());
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: key, env, args: ['-flush-interval', '100ms', '-verbose=false'] });
  defer(() => proxy.stop());

  await sendText(proxy.port, 'state.ok 1 1700000000\n');
  await until('a point accepted with the key from the state directory', () => sink.lines.some((l) => l.startsWith('state.ok ')), 10_000);
  // 200 lines of 40 bytes: over -max-batch-bytes, the gateway answers 413 and the proxy dead-letters it.
  await sendText(proxy.port, Array.from({ length: 200 }, (_, i) => `state.big.m${i}.${'x'.repeat(16)} ${i} 1700000000\n`).join(''));
  await until('the rejected batch dead-lettered', async () => (await scrapeCounter(proxy.statPort, 'polymur_dead_letter_points_total')) === 200, 20_000);
  const deadLetter = join(state, 'polymur-dead-letter.log');
  assert.match(readFileSync(deadLetter, 'utf8'), /rejected by the gateway \(HTTP 413/, 'the default dead letter is in $STATE_DIRECTORY');
});
