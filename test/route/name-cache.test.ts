// hash-route's name cache (src/route/name-cache.ts): a name is kept at its second sight and
// answered from then on; names are told apart by their bytes, not their hash; it never holds more
// names or bytes than its limits; and through the real relay, -route-cache-names bounds it and
// /metrics counts its hits and misses while every point still lands where carbon's ring says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fnv1a32, createHashRing } from '../../src/route/hash-ring.js';
import { parseDestinations } from '../../src/route/destination.js';
import { createNameCache, type NameCache } from '../../src/route/name-cache.js';
import { startRelay, type ListenerProcess } from '../../harness/system.js';
import { carbonPlacement } from '../helpers/carbon-ring.js';
import { openGraphiteStream } from '../helpers/graphite-stream.js';
import { until } from '../helpers/points.js';
import { scrape } from '../helpers/prometheus.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

/** Looks a name up as the ring does (its FNV-1a as the hash unless one is given), storing `node` on a miss. */
function place(cache: NameCache, name: string, node: number, hash = fnv1a32(Buffer.from(name))): number {
  const buf = Buffer.from(`prefix ${name} suffix`);
  const start = 'prefix '.length;
  const end = start + Buffer.byteLength(name);
  const cached = cache.lookup(buf, start, end, hash);
  if (cached >= 0) return cached;
  cache.store(buf, start, end, hash, node);
  return -1;
}

test('a name is kept at its second sight and answered from the cache from then on', () => {
  const cache = createNameCache({ names: 100, bytes: 10_000 });
  assert.equal(place(cache, 'a.b.c', 2), -1, 'first sight: a miss');
  assert.equal(cache.names, 0, 'a name seen once is not kept');
  assert.equal(place(cache, 'a.b.c', 2), -1, 'second sight: a miss, now kept');
  assert.equal(cache.names, 1);
  assert.equal(cache.bytes, 4 + 5);
  assert.equal(place(cache, 'a.b.c', 0), 2, 'third sight: the node stored');
  assert.equal(place(cache, 'a.b.c', 0), 2);
  assert.deepEqual([cache.hits, cache.misses], [2, 2]);
  cache.clear();
  assert.equal(cache.names, 0);
  assert.equal(place(cache, 'a.b.c', 1), -1, 'forgotten after clear()');
  assert.equal(place(cache, 'a.b.c', 1), 1, 'and kept again at once: it was seen before');
});

test('names are told apart by their bytes: the same hash, the same length or a prefix never answers for another', () => {
  const cache = createNameCache({ names: 100, bytes: 10_000 });
  // One hash for all of them: every probe meets the others first.
  const names = ['a.b.c', 'a.b.d', 'a.b', 'a.b.cc', 'ünï.b.c', ''];
  for (let round = 0; round < 2; round++) names.forEach((name, node) => place(cache, name, node, 12345));
  assert.equal(cache.names, names.length);
  names.forEach((name, node) => assert.equal(place(cache, name, 99, 12345), node, JSON.stringify(name)));
  assert.equal(place(cache, 'a.b.e', 99, 12345), -1, 'a name never stored is a miss');
});

test('never more names or bytes than its limits: emptied when full, then filling again', () => {
  for (const limits of [
    { names: 50, bytes: 1_000_000 },
    { names: 1_000_000, bytes: 1000 },
  ]) {
    const cache = createNameCache(limits);
    const names = Array.from({ length: 2000 }, (_, i) => `servers.host-${i % 13}.metric.${i}`);
    let mostNames = 0;
    let mostBytes = 0;
    // Each name three times in a row (the third from the cache), 2,000 of them: far past either limit.
    names.forEach((name, i) => {
      for (let sight = 0; sight < 3; sight++) {
        const cached = place(cache, name, i % 7);
        assert.ok(cached === -1 || cached === i % 7, `${name}: cached node ${cached}`);
        mostNames = Math.max(mostNames, cache.names);
        mostBytes = Math.max(mostBytes, cache.bytes);
      }
    });
    assert.ok(mostNames <= limits.names, `${JSON.stringify(limits)}: held ${mostNames} names`);
    assert.ok(mostBytes <= limits.bytes, `${JSON.stringify(limits)}: held ${mostBytes} bytes`);
    assert.ok(mostNames > 0 && cache.hits > 0, `${JSON.stringify(limits)}: it did cache (${mostNames} names, ${cache.hits} hits)`);
  }
});

test('names longer than the cache can hold, and a cache of 0 names, place without caching', () => {
  const long = 'x'.repeat(70_000);
  const big = createNameCache({ names: 10, bytes: 1_000_000 });
  for (let i = 0; i < 3; i++) assert.equal(place(big, long, 1), -1);
  assert.equal(big.names, 0, 'over 65,535 bytes: not kept');
  const small = createNameCache({ names: 10, bytes: 100 });
  for (let i = 0; i < 3; i++) assert.equal(place(small, 'y'.repeat(200), 1), -1);
  assert.equal(small.names, 0, 'longer than the slab: not kept');
  const off = createNameCache({ names: 0, bytes: 0 });
  for (let i = 0; i < 3; i++) assert.equal(place(off, 'a.b', 1), -1);
  assert.deepEqual([off.names, off.hits, off.misses], [0, 0, 3]);
});

test('a ring with a cache small enough to be emptied again and again places every name as its ring does without one', () => {
  const nodes = parseDestinations(Array.from({ length: 7 }, (_, i) => `127.0.0.${i + 1}:2003:n${i}`).join(','));
  const cache = createNameCache({ names: 64, bytes: 64 * 40 });
  const ring = createHashRing(nodes, 'carbon_ch', { cache });
  const names = Array.from({ length: 3000 }, (_, i) => Buffer.from(`collectd.host-${i % 97}.load.${i}`));
  const want = names.map((name) => nodes.indexOf(ring.getNodes(name, 1)[0]!));
  // Each name three times in a row, then all of them once more (a cache emptied since).
  for (const sights of [3, 1]) {
    const wrong = names.filter((name, i) => Array.from({ length: sights }, () => ring.firstNodeIndex(name)).some((node) => node !== want[i]));
    assert.equal(wrong.length, 0, `${wrong.length} placed elsewhere (${sights} sights each)`);
  }
  assert.ok(cache.hits > 0, 'some answers came from the cache');
});

test('the relay: -route-cache-names bounds the cache, /metrics counts its hits and misses, every point lands where carbon places it', async () => {
  const sinks: TcpSink[] = [];
  let relay: ListenerProcess | undefined;
  try {
    for (let i = 0; i < 3; i++) sinks.push(await startTcpSink());
    const destinations = sinks.map((s, i) => `${s.address}:${'abc'[i]}`);
    /** `cacheFlags`: the relay's -route-cache-names, none for its default. */
    const run = async (names: string[], rounds: number, cacheFlags: string[]): Promise<Awaited<ReturnType<typeof scrape>>> => {
      relay = await startRelay(['-destinations', destinations.join(','), '-distribution', 'hash-route', '-flush-interval', '50ms', ...cacheFlags]);
      const stream = await openGraphiteStream(relay.port);
      // Round by round, each in its own batches: a name's sights are in order.
      for (let round = 0; round < rounds; round++) {
        await stream.send(names.map((n, i) => `${n} ${round * names.length + i} 1700000000`));
        const want = (round + 1) * names.length;
        await until(`round ${round} at the sinks`, () => sinks.reduce((n, s) => n + s.lines.length, 0) >= want, 15_000);
      }
      await stream.close();
      const metrics = await scrape(relay.statPort);
      await relay.stop();
      relay = undefined;
      return metrics;
    };
    const names = Array.from({ length: 1000 }, (_, i) => `cached.host-${i % 17}.m${i}`);
    const roomy = await run(names, 3, []);
    assert.equal(roomy.value('polymur_route_name_cache_misses_total'), 2000, 'two sights of each name before it is kept');
    assert.equal(roomy.value('polymur_route_name_cache_hits_total'), 1000, 'the third from the cache');
    assert.equal(roomy.value('polymur_route_name_cache_names'), 1000);
    assert.equal(
      roomy.value('polymur_route_name_cache_bytes'),
      names.reduce((n, name) => n + name.length + 4, 0),
    );

    const placement = await carbonPlacement({ destinations, names, hashType: 'carbon_ch' });
    const misplaced: string[] = [];
    sinks.forEach((s, i) => {
      for (const line of s.lines) {
        const name = line.split(' ')[0]!;
        if (placement[names.indexOf(name)]![0] !== i) misplaced.push(`${name} on ${i}`);
      }
    });
    assert.deepEqual(misplaced.slice(0, 5), [], `${misplaced.length} of 3000 points misplaced`);
    for (const s of sinks) s.lines.length = 0;

    const tight = await run(names, 3, ['-route-cache-names', '100']);
    assert.ok(tight.value('polymur_route_name_cache_names') <= 100, 'at most -route-cache-names');
    assert.equal(tight.value('polymur_route_name_cache_hits_total') + tight.value('polymur_route_name_cache_misses_total'), 3000, 'every point looked up');
  } finally {
    await relay?.stop();
    for (const s of sinks) await s.close();
  }
});
