// Young-generation collections paced by bytes read (src/input/scavenge-pacer.ts): when they run,
// and that this runtime lets the proxy have its collector.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { createScavengePacer, youngGenerationCollector } from '../../src/input/scavenge-pacer.js';

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

test('without a collector the pacer does nothing', async () => {
  const pacer = createScavengePacer({ everyBytes: 1, collect: undefined });
  pacer.read(1_000_000);
  await nextTurn();
});

// What the collections do for memory is the bench's to show (the proxy's peak RSS): here, that
// this runtime still hands the collector over, or the proxy would silently go without it.
test("this runtime exposes its young-generation collector, and no global gc is left behind", () => {
  const collect = youngGenerationCollector();
  assert.equal(typeof collect, 'function', 'V8 exposed its collector');
  collect!();
  assert.equal((globalThis as { gc?: unknown }).gc, undefined);
});
