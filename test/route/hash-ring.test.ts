// hash-route must place every metric where carbon itself would (so graphite-web finds it): our ring
// against carbon's own ConsistentHashingRouter (Debian's graphite-carbon), for both hash types, sets
// with and without instances, sets big enough that replica positions collide, and replication 2;
// carbon_ch with each of our MD5s (the native addon's and the JavaScript fallback).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseDestinations } from '../../src/route/destination.js';
import { createHashRing, ringPosition, type HashType } from '../../src/route/hash-ring.js';
import { jsMd5Prefix16, nativeMd5Prefix16, type Md5Prefix16 } from '../../src/route/md5.js';
import { carbonPlacement } from '../helpers/carbon-ring.js';

const NAMES = 10_000;

/** Metric names shaped like real ones, plus a few non-ASCII ones (carbon hashes their UTF-8 bytes). */
function metricNames(): string[] {
  const names: string[] = [];
  for (let i = 0; names.length < NAMES - 3; i++) {
    names.push(`servers.web-${i % 97}.${['cpu', 'mem', 'disk', 'net'][i % 4]}.${i}.value`);
  }
  names.push('ünïcode.métrique.1', 'служба.нагрузка', 'x');
  return names;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

const SETS: Record<string, string[]> = {
  'three instances on one host': ['127.0.0.1:2103:a', '127.0.0.1:2203:b', '127.0.0.1:2303:c'],
  'three hosts, no instances': ['127.0.0.1:2003', '127.0.0.2:2003', '127.0.0.3:2003'],
  '40 hosts with instances': range(40).map((i) => `127.0.1.${i + 1}:2003:n${i}`),
  '40 hosts without instances': range(40).map((i) => `127.0.2.${i + 1}:2003`),
  '32 nodes on 8 hosts, mixed': range(32).map((i) => `127.0.3.${(i % 8) + 1}:${2003 + i}${i < 8 ? '' : `:i${i}`}`),
};

/** How many replica positions were already taken when carbon's ring placed them (its collision rule). */
function collisions(destinations: string[], hashType: HashType): number {
  const taken = new Set<number>();
  let bumped = 0;
  for (const d of parseDestinations(destinations.join(','))) {
    for (let i = 0; i < 100; i++) {
      const key = hashType === 'fnv1a_ch' ? `${i}-${d.instance ?? 'None'}` : `('${d.host}', ${d.instance === null ? 'None' : `'${d.instance}'`}):${i}`;
      let p = ringPosition(Buffer.from(key), hashType);
      if (taken.has(p)) bumped++;
      while (taken.has(p)) p++;
      taken.add(p);
    }
  }
  return bumped;
}

const names = metricNames();

const MD5_ENGINES: Array<[string, Md5Prefix16]> = [
  ['native', nativeMd5Prefix16!],
  ['JavaScript', jsMd5Prefix16],
];

for (const hashType of ['carbon_ch', 'fnv1a_ch'] as const) {
  test(`${hashType}: every metric lands where carbon's router puts it (replication 1 and 2)`, async () => {
    for (const [label, destinations] of Object.entries(SETS)) {
      const [one, two] = await Promise.all([
        carbonPlacement({ destinations, names, hashType, replication: 1 }),
        carbonPlacement({ destinations, names, hashType, replication: 2 }),
      ]);
      assert.equal(one.length, names.length);
      for (const [engine, md5] of hashType === 'carbon_ch' ? MD5_ENGINES : MD5_ENGINES.slice(0, 1)) {
        const ring = createHashRing(parseDestinations(destinations.join(',')), hashType, { md5 });
        const index = new Map(ring.nodes.map((n, i) => [n, i]));
        const mismatches: string[] = [];
        names.forEach((name, k) => {
          const ours1 = ring.getNodes(name, 1).map((n) => index.get(n)!);
          // Three sights: hashed, hashed and kept by the name cache, answered by it.
          const hot = [0, 1, 2].map(() => ring.firstNodeIndex(Buffer.from(name)));
          const ours2 = ring.getNodes(name, 2).map((n) => index.get(n)!);
          if (ours1.join() !== one[k]!.join() || hot.some((n) => n !== one[k]![0]) || ours2.join() !== two[k]!.join()) {
            mismatches.push(`${name}: carbon ${one[k]} / ${two[k]}, ours ${ours1} (hot path ${hot}) / ${ours2}`);
          }
        });
        assert.equal(mismatches.length, 0, `${label} (${engine} MD5): ${mismatches.length} of ${names.length} placements differ, e.g.\n${mismatches.slice(0, 5).join('\n')}`);
      }
      // The placements are spread over the set, not piled on one node.
      assert.equal(new Set(one.map((p) => p[0])).size, destinations.length, `${label}: every node owns some metrics`);
    }
  });
}

test("the large sets do exercise carbon's collision rule", () => {
  for (const hashType of ['carbon_ch', 'fnv1a_ch'] as const) {
    for (const label of ['40 hosts with instances', '40 hosts without instances']) {
      assert.ok(collisions(SETS[label]!, hashType) > 0, `${label} (${hashType}) has colliding replica positions`);
    }
  }
});
