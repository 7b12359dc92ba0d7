// The proxy's re-read of -api-key-file after a 401 (src/forward/reread-on-refusal.ts): workers
// refused again and again make at most one read per interval, share it, learn of a new key, and
// a failing read keeps the old key with a rate-limited line; the stop signal ends every wait.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRereadOnRefusal } from '../../src/forward/reread-on-refusal.js';
import { Registry } from '../../src/observe/metrics.js';
import { logLines } from '../helpers/log-lines.js';

const INTERVAL_MS = 100;

function setup(reread: () => boolean) {
  const metrics = new Registry();
  const logs = logLines();
  let reads = 0;
  const hook = createRereadOnRefusal({
    reread: () => {
      reads++;
      return reread();
    },
    what: '-api-key-file /etc/polymur/api.key',
    metrics,
    log: logs.log,
    minIntervalMs: INTERVAL_MS,
  });
  const counted = (result: string): number => metrics.counter('polymur_api_key_rereads_total', '').value({ result });
  return { hook, logs, reads: () => reads, counted };
}

test('a gateway refusing everything: 8 workers refused without pause make at most one read per interval', async () => {
  const { hook, reads, counted } = setup(() => false);
  const stop = new AbortController();
  const started = Date.now();
  let refusals = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (Date.now() - started < 10 * INTERVAL_MS) {
        refusals++;
        await hook(stop.signal);
      }
    }),
  );
  const elapsed = Date.now() - started;
  process.stdout.write(`# ${refusals} refusals in ${elapsed} ms: ${reads()} reads of the key file (one per ${INTERVAL_MS} ms at most)\n`);
  assert.ok(reads() >= 2, `the file is read again (${reads()} reads)`);
  assert.ok(reads() <= Math.ceil(elapsed / INTERVAL_MS) + 1, `${reads()} reads in ${elapsed} ms`);
  assert.ok(refusals >= 4 * reads(), 'refusals at the same time share a read');
  assert.equal(counted('unchanged'), reads());
});

test('a new key in the file is said once and counted; a read that fails keeps the old key and says why', async () => {
  let answer: () => boolean = () => true;
  const { hook, logs, counted } = setup(() => answer());
  const stop = new AbortController();
  await Promise.all([hook(stop.signal), hook(stop.signal), hook(stop.signal)]);
  assert.equal(counted('changed'), 1, 'three workers refused at once: one read');
  assert.deepEqual(logs.lines, ['The gateway refused the API key; -api-key-file /etc/polymur/api.key holds a new one: sending with it from now on']);
  answer = () => {
    throw new Error('-api-key-file: /etc/polymur/api.key: no such file');
  };
  await hook(stop.signal);
  assert.equal(counted('failed'), 1);
  assert.match(logs.lines[1]!, /re-reading -api-key-file \/etc\/polymur\/api\.key failed, keeping the old key: -api-key-file: \/etc\/polymur\/api\.key: no such file/);
});

test('the stop signal ends a wait for the next read at once, without reading', async () => {
  const { hook, reads } = setup(() => false);
  const stop = new AbortController();
  await hook(stop.signal);
  const waiting = hook(stop.signal);
  stop.abort();
  await waiting;
  assert.equal(reads(), 1);
});
