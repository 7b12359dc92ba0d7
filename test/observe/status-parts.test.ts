// The status page's parts on their own: who may see it (a table of requests), the problems list
// (grouped by shape, bounded), and the sampler's rates and "stuck" on an injected clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { Registry } from '../../src/observe/metrics.js';
import { createRecentProblems } from '../../src/observe/recent-problems.js';
import { createStatusSampler, HISTORY_SECONDS, STUCK_AFTER_SAMPLES } from '../../src/observe/status/history.js';
import { createStatusAccess, isLoopbackHost } from '../../src/observe/status/status-access.js';
import { buildStatus, keysQuery, MAX_KEYS_PAGE } from '../../src/observe/status/status-json.js';

const request = (headers: Record<string, string>): IncomingMessage => ({ headers }) as unknown as IncomingMessage;

test('access: loopback without a token, the token by bearer or by the login cookie, never cross-site', () => {
  for (const host of ['localhost', '127.0.0.1', '127.3.4.5', '::1', '[::1]']) assert.ok(isLoopbackHost(host), host);
  for (const host of ['0.0.0.0', '', '10.0.0.1', '::', 'example.com', '128.0.0.1']) assert.ok(!isLoopbackHost(host), host);

  const open = createStatusAccess('', '127.0.0.1');
  for (const host of ['127.0.0.1:2020', 'localhost:2020', '[::1]:2020', 'localhost']) assert.deepEqual(open.check(request({ host })), { allowed: true }, host);
  // DNS rebinding: a name of the attacker's pointed at 127.0.0.1.
  for (const host of ['evil.example:2020', 'evil.example', '', '10.0.0.1:2020']) {
    const d = open.check(request({ host }));
    assert.ok(!d.allowed && d.status === 403, host);
  }
  assert.equal(open.check(request({ host: '127.0.0.1:2020', 'sec-fetch-site': 'cross-site' })).allowed, false);
  const exposed = createStatusAccess('', '0.0.0.0').check(request({}));
  assert.ok(!exposed.allowed && exposed.status === 403 && /set -status-token/.test(exposed.why));

  const guarded = createStatusAccess('s3cret', '0.0.0.0');
  const cases: Array<[Record<string, string>, boolean | number]> = [
    [{}, 401],
    [{ authorization: 'Bearer s3cret' }, true],
    [{ authorization: 'Bearer s3cre' }, 401],
    [{ authorization: 'Basic s3cret' }, 401],
    [{ cookie: `polymur_status=${guarded.session}` }, true],
    [{ cookie: `other=1; polymur_status=${guarded.session}` }, true],
    [{ cookie: 'polymur_status=s3cret' }, 401], // the cookie holds the session value, not the token
    [{ authorization: 'Bearer s3cret', 'sec-fetch-site': 'cross-site' }, 403],
  ];
  for (const [headers, expected] of cases) {
    const d = guarded.check(request(headers));
    assert.equal(d.allowed ? true : d.status, expected, JSON.stringify(headers));
  }
  assert.ok(guarded.matches('s3cret') && !guarded.matches('') && !open.matches(''));
});

test('problems: one per shape, its latest wording and count, most recent first, bounded', () => {
  let now = 1000;
  const problems = createRecentProblems(() => now, 3);
  problems.note('Destination 127.0.0.1:2003 unreachable (1 failed reconnects)');
  now = 2000;
  problems.note('Destination 127.0.0.1:2003 unreachable (2 failed reconnects)');
  problems.note('bad line from 10.0.0.1');
  assert.deepEqual(problems.list(), [
    { message: 'bad line from 10.0.0.1', count: 1, firstAt: 2000, lastAt: 2000 },
    { message: 'Destination 127.0.0.1:2003 unreachable (2 failed reconnects)', count: 2, firstAt: 1000, lastAt: 2000 },
  ]);
  problems.note('a');
  problems.note('b');
  assert.deepEqual(
    problems.list().map((p) => p.message),
    ['b', 'a', 'bad line from 10.0.0.1'],
  );
  problems.note('x'.repeat(1000));
  assert.ok(problems.list()[0]!.message.length <= 301);
});

test('sampler: rates per second from the counters, 15 minutes kept, a destination up with points queued and nothing written is stuck', () => {
  let now = 0;
  const registry = new Registry();
  const received = registry.counter('polymur_points_received_total', 'in', []);
  const written = registry.counter('polymur_points_written_total', 'out', []);
  let queued = 0;
  registry.gauge('polymur_destination_up', 'up', () => [[{ destination: 'a:1' }, 1]]);
  registry.gauge('polymur_queue_points', 'queued', () => [[{ destination: 'a:1' }, queued]]);
  const sampler = createStatusSampler(registry, { now: () => now, timer: false });
  sampler.sample();
  received.inc(500, { key: 'alice' });
  received.inc(1500, { key: 'bob' });
  written.inc(2000, { destination: 'a:1' });
  now = 2000;
  sampler.sample();
  assert.deepEqual(sampler.history().pointsIn, [null, 1000]);
  assert.deepEqual(sampler.history().pointsOut, [null, 1000]);
  sampler.rates('polymur_points_received_total', 'key'); // asked once: known from the next sample
  received.inc(300, { key: 'alice' });
  now = 3000;
  sampler.sample();
  assert.deepEqual(
    [...sampler.rates('polymur_points_received_total', 'key')],
    [
      ['alice', 300],
      ['bob', 0],
    ],
  );

  queued = 10;
  for (let i = 0; i < STUCK_AFTER_SAMPLES; i++) {
    assert.equal(sampler.stuck().has('a:1'), false);
    now += 1000;
    sampler.sample();
  }
  assert.equal(sampler.stuck().has('a:1'), true);
  const doc = buildStatus({ registry, sampler, problems: () => [], startedAt: new Date(0), query: keysQuery(new URLSearchParams()), now });
  assert.deepEqual(doc.destinations, [{ destination: 'a:1', state: 'stuck', queuedPoints: 10, pointsPerSecond: 0 }]);
  assert.deepEqual(
    doc.keys.rows.map((r) => r.key),
    ['alice', 'bob'],
    'sorted by rate',
  );
  assert.deepEqual(doc.totals, { pointsIn: 2300, pointsOut: 2000 });
  written.inc(5, { destination: 'a:1' });
  now += 1000;
  sampler.sample();
  assert.equal(sampler.stuck().has('a:1'), false, 'writing again is not stuck');

  for (let i = 0; i < HISTORY_SECONDS + 10; i++) {
    now += 1000;
    sampler.sample();
  }
  assert.equal(sampler.history().times.length, HISTORY_SECONDS);
});

test('keys query: pages are bounded, bad values fall back', () => {
  assert.deepEqual(keysQuery(new URLSearchParams('keys_limit=100000&keys_offset=-3&keys_sort=evil')), { offset: 0, limit: MAX_KEYS_PAGE, sort: 'rate', filter: '' });
  assert.deepEqual(keysQuery(new URLSearchParams('keys_limit=0&keys_offset=20&keys_sort=key&keys_filter=ab')), { offset: 20, limit: 1, sort: 'key', filter: 'ab' });
});
