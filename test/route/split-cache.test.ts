// hash-route answers names it has seen from a cache instead of hashing them again. Placements,
// cold and warm, must be the ones carbon's own ring gives, for every name of a batch (some of
// which share a cache slot, so eviction runs too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildChunk, encodeNames, metricNames } from '../../harness/load-generator.js';
import { parseDestinations } from '../../src/route/destination.js';
import { createHashRing, fnv1a32, type HashType } from '../../src/route/hash-ring.js';
import { splitByDestination } from '../../src/route/split.js';
import { carbonPlacement } from '../helpers/carbon-ring.js';

const NAMES = metricNames(20_000, 3);

/** The metric name of every line of a part, in order. */
function namesOf(data: Buffer): string[] {
  return data
    .toString('latin1')
    .split('\n')
    .slice(0, -1)
    .map((line) => line.trimStart().split(/[ \t]/)[0]!);
}

/** The same names as valid lines with other blanks: leading ones, TAB separators. */
function oddlySpacedBatch(): Buffer {
  const shapes = [(n: string) => `${n}\t1 1700000000\n`, (n: string) => ` \t${n} 2\t1700000000\n`, (n: string) => `${n} 3 1700000000\n`];
  return Buffer.from(NAMES.map((n, i) => shapes[i % shapes.length]!(n)).join(''), 'latin1');
}

for (const hashType of ['carbon_ch', 'fnv1a_ch'] as HashType[]) {
  test(`${hashType}: cached hash-route placements are carbon's, cold and warm`, async () => {
    const destinations = ['127.0.0.1:2103:a', '127.0.0.1:2203:b', '127.0.0.1:2303:c'];
    const nodes = parseDestinations(destinations.join(','));
    const expected = (await carbonPlacement({ destinations, names: NAMES, hashType })).map(([i]) => i);
    const owner = new Map(NAMES.map((name, i) => [name, expected[i]!]));
    const ring = createHashRing(nodes, hashType);
    // Every name twice per batch and two batches (the second time round they come from the cache),
    // then every name once more with TABs and leading blanks.
    const plain = buildChunk(encodeNames(NAMES), 0, 0, NAMES.length * 2, 1_700_000_000);
    const odd = oddlySpacedBatch();
    for (const [round, batch] of [plain, plain, odd].entries()) {
      const parts = splitByDestination(batch, ring, 1);
      let lines = 0;
      for (const [node, part] of parts) {
        const names = namesOf(part.data);
        assert.equal(names.length, part.points);
        for (const name of names) assert.equal(owner.get(name), node, `${name} (round ${round})`);
        lines += names.length;
      }
      assert.equal(lines, batch === odd ? NAMES.length : NAMES.length * 2);
    }
  });
}

/** Names whose FNV-1a (the placement cache's key) is the same: the cache must tell them apart by their bytes. */
const COLLIDING = [
  ['collectd.host-626.load.shortterm.6608', 'collectd.host-293.disk-sda.disk_ops.read.167789'],
  ['collectd.host-058.load.shortterm.149608', 'collectd.host-072.interface-eth0.if_octets.tx.170559'],
  ['collectd.host-181.df-root.df_complex-used.53022', 'collectd.host-988.cpu-3.cpu-interrupt.172472'],
] as const;

test('the colliding names do share an FNV-1a hash', () => {
  for (const [a, b] of COLLIDING) assert.equal(fnv1a32(Buffer.from(a)), fnv1a32(Buffer.from(b)), `${a} / ${b}: pick names that collide under the cache's hash`);
});

for (const hashType of ['carbon_ch', 'fnv1a_ch'] as HashType[]) {
  test(`${hashType}: cached replication-2 placements are carbon's (distinct hosts), cold and warm`, async () => {
    // Two instances on one host: carbon puts a name's second copy on another host, never beside the first.
    const destinations = ['127.0.0.1:2103:a', '127.0.0.1:2203:b', '127.0.0.2:2303:c', '127.0.0.3:2403:d'];
    const nodes = parseDestinations(destinations.join(','));
    const names = [...NAMES, ...COLLIDING.flat()];
    const expected = await carbonPlacement({ destinations, names, hashType, replication: 2 });
    const owners = new Map(names.map((name, i) => [name, expected[i]!]));
    const ring = createHashRing(nodes, hashType);
    // Every name twice per batch (buildChunk's order would skip names: their count is a multiple of 7).
    const plain = Buffer.from([...names, ...names].map((n, i) => `${n} ${i} 1700000000\n`).join(''), 'latin1');
    const odd = oddlySpacedBatch();
    for (const [round, batch] of [plain, plain, odd].entries()) {
      // Each name's nodes as the parts hold it, in node order: carbon's list sorted.
      const seen = new Map<string, number[]>();
      for (const [node, part] of splitByDestination(batch, ring, 2)) {
        const names = namesOf(part.data);
        assert.equal(names.length, part.points);
        for (const name of names) seen.set(name, [...(seen.get(name) ?? []), node]);
      }
      const copies = batch === odd ? 1 : 2;
      for (const name of batch === odd ? NAMES : names) {
        const want = owners
          .get(name)!
          .flatMap((n) => Array<number>(copies).fill(n))
          .sort((a, b) => a - b);
        assert.deepEqual(seen.get(name), want, `${name} (round ${round})`);
      }
    }
  });
}
