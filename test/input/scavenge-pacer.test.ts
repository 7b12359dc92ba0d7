// Young-generation collections paced by bytes read (src/input/scavenge-pacer.ts): when they run,
// and that this runtime lets the proxy have its collector, which collects.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createScavengePacer, youngGenerationCollector } from '../../src/input/scavenge-pacer.js';
import { until } from '../helpers/points.js';

test('a collection once `everyBytes` were read, after the current event, one for a burst of reads', async () => {
  let collections = 0;
  const pacer = createScavengePacer({ everyBytes: 1000, collect: () => collections++ });
  const cases: Array<[reads: number[], expected: number]> = [
    [[999], 0],
    [[1], 1], // the 1000th byte
    [[400, 400], 1], // 800 since the last one
    [[200], 2],
    [[5000, 5000, 5000], 3], // one for the burst, however far past the pace
    [[0], 3],
  ];
  let previous = 0;
  for (const [reads, expected] of cases) {
    for (const bytes of reads) pacer.read(bytes);
    assert.equal(collections, previous, 'nothing runs inside the read itself');
    await nextTurn();
    assert.equal(collections, expected, `after reads ${reads.join(', ')}`);
    previous = expected;
  }
});

// What the collections do for memory is the bench's to show (the proxy's peak RSS): here, that
// this runtime still hands the collector over and that calling it runs young-generation
// collections (V8 reports each to a PerformanceObserver), or the proxy would silently go without.
test('the young-generation collector this runtime exposes runs a scavenge per call, and no global gc is left behind', async () => {
  const collect = youngGenerationCollector();
  assert.ok(collect, 'V8 exposed its collector');
  const CALLS = 5;
  let minor = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) if ((entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
  });
  observer.observe({ entryTypes: ['gc'] });
  try {
    for (let i = 0; i < CALLS; i++) collect();
    // Entries are delivered after the collections, on a later turn of the loop.
    await until(`${CALLS} young-generation collections reported`, () => minor >= CALLS, 5000);
  } finally {
    observer.disconnect();
  }
  assert.equal((globalThis as { gc?: unknown }).gc, undefined);
});
