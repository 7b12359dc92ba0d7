// CONSUL_HTTP_ADDR, as the original's Consul client reads it, names the agent when -key-store is
// `consul` or a consul:// URL without a host. Consul cannot be installed on the test machines
// (no Debian package), so this checks the address resolution, and that the real polymur-keys
// goes to the agent the variable names (a closed port there: the error names it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveConsulLocation } from '../../src/keys/consul-store.js';
import { DEFAULT_KEY_PREFIX } from '../../src/keys/store.js';
import { freePort } from '../helpers/carbon.js';
import { runToExit } from '../../harness/programs.js';

test('consul without a host takes CONSUL_HTTP_ADDR; a host in the URL wins; unset is 127.0.0.1:8500', () => {
  const cases: Array<[string, NodeJS.ProcessEnv, string, string]> = [
    ['consul', {}, 'http://127.0.0.1:8500', DEFAULT_KEY_PREFIX],
    ['consul://', { CONSUL_HTTP_ADDR: '' }, 'http://127.0.0.1:8500', DEFAULT_KEY_PREFIX],
    ['consul', { CONSUL_HTTP_ADDR: '10.0.0.5:8500' }, 'http://10.0.0.5:8500', DEFAULT_KEY_PREFIX],
    ['consul://', { CONSUL_HTTP_ADDR: 'https://consul.example:8501' }, 'https://consul.example:8501', DEFAULT_KEY_PREFIX],
    ['consul', { CONSUL_HTTP_ADDR: 'consul.example:8501', CONSUL_HTTP_SSL: 'true' }, 'https://consul.example:8501', DEFAULT_KEY_PREFIX],
    ['consul:///fleet/keys', { CONSUL_HTTP_ADDR: 'http://[::1]:8500/' }, 'http://[::1]:8500', 'fleet/keys/'],
    ['consul://c1:8500/x', { CONSUL_HTTP_ADDR: '10.0.0.5:8500' }, 'http://c1:8500', 'x/'],
  ];
  for (const [url, env, origin, prefix] of cases) {
    assert.deepEqual(resolveConsulLocation(url, env), { origin, prefix }, `${url} with ${JSON.stringify(env)}`);
  }
  assert.throws(() => resolveConsulLocation('consul', { CONSUL_HTTP_ADDR: 'unix:///run/consul.sock' }), /only http:\/\/ and https:\/\/ agents/);
  assert.throws(() => resolveConsulLocation('consul', { CONSUL_HTTP_ADDR: 'host:8500/path' }), /is not host:port/);
});

test('polymur-keys -key-store consul goes to the agent in CONSUL_HTTP_ADDR', async () => {
  const port = await freePort();
  const r = await runToExit('keys', ['-key-store', 'consul', 'list', 'names'], { CONSUL_HTTP_ADDR: `127.0.0.1:${port}` });
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stderr, new RegExp(`consul key store http://127\\.0\\.0\\.1:${port}: cannot list keys`));
});
