// The `stats` reply keeps the original runstats' field names where Node has the figure: the memory
// figures, and NumGC / PauseTotalNs / LastGC counted from V8's own collections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { buildStats } from '../../src/observe/runtime-stats.js';

const GO_FIELDS = ['Alloc', 'Sys', 'HeapAlloc', 'HeapSys', 'HeapIdle', 'HeapInuse', 'NumGC', 'PauseTotalNs', 'LastGC'];

test('stats: the original runstats field names, with collections counted as they happen', async () => {
  const meminfo = (): Record<string, number> => buildStats(new Date())['runtime-meminfo'] as Record<string, number>;
  const before = meminfo();
  for (const field of GO_FIELDS) assert.equal(typeof before[field], 'number', field);
  // Garbage enough for V8 to collect its young generation several times; bounded.
  let after = meminfo();
  for (let round = 0; round < 200 && after.NumGC! < before.NumGC! + 2; round++) {
    let keep = 0;
    for (let i = 0; i < 20_000; i++) keep += new Array(64).fill(i).length;
    assert.ok(keep > 0);
    await turn(); // the observer's callback runs between turns
    after = meminfo();
  }
  assert.ok(after.NumGC! >= before.NumGC! + 2, `NumGC ${before.NumGC} -> ${after.NumGC}`);
  assert.ok(after.PauseTotalNs! > before.PauseTotalNs!, 'PauseTotalNs grows with each collection');
  const nowNs = Date.now() * 1e6;
  assert.ok(Math.abs(after.LastGC! - nowNs) < 60e9, `LastGC ${after.LastGC} is nanoseconds since the epoch, recent (now ${nowNs})`);
  assert.equal(after.HeapIdle, after.HeapSys! - after.HeapInuse!);
});
