// hash-route's name -> ring position cache: metric names repeat every interval, and a cached answer
// costs a short hash, a probe and a compare instead of an MD5. Bounded in names and in bytes, and
// made of flat typed arrays whatever the traffic: an open-addressing table of (hash, offset) slots,
// a slab holding each name's bytes after its position and length, and a bitmap of names seen once.
// Nothing is allocated per name, so millions of new names cost no garbage.
// - A name is kept at its second sight: when every name is new (a fleet restart, a new site) each
//   costs one bit of the bitmap, not a slot and a copy of its bytes, and the table stays small
//   enough for the CPU's caches. The bitmap is emptied after as many first sights as names fit.
// - The table starts small and doubles as names are kept, so a few thousand names probe in cache.
// - When either bound is reached the cache is emptied and fills again.
import type { Registry } from '../observe/metrics.js';

export interface NameCacheLimits {
  /** Names held at most (the table has up to twice as many slots, so a probe stays short). */
  readonly names: number;
  /** Bytes of the slab at most: each name's bytes plus 4. */
  readonly bytes: number;
}

/** -route-cache-names' default: some 40 MB at most (a name's slab bytes, its slots, its bit). */
export const DEFAULT_NAME_CACHE_NAMES = 500_000;

/** The slab's bytes per name the cache may hold: metric names are mostly shorter than 60 bytes. */
const SLAB_BYTES_PER_NAME = 64;

/** The limits of a cache of `names` names: `names` names, and 64 slab bytes each. */
export const nameCacheLimits = (names: number): NameCacheLimits => ({ names, bytes: names * SLAB_BYTES_PER_NAME });

export interface NameCache {
  /** The ring position cached for the name buf[start, end), whose FNV-1a is `hash`; -1 when it is not (a miss). */
  lookup(buf: Buffer, start: number, end: number, hash: number): number;
  /** The position of a name lookup() just missed: kept if the name was seen before. */
  store(buf: Buffer, start: number, end: number, hash: number, position: number): void;
  /** Forgets every name: the ring they were placed on is gone. */
  clear(): void;
  readonly hits: number;
  readonly misses: number;
  /** Names held now. */
  readonly names: number;
  /** Slab bytes in use now. */
  readonly bytes: number;
}

/** Per name in the slab, before its bytes: the position (2 bytes) and the name's length (2 bytes). */
const HEADER = 4;
/** Longer names are placed without the cache (the length is 2 bytes). */
const MAX_NAME = 0xffff;
/** Positions the header can hold: a name's 16 bits. */
const MAX_POSITION = 0xffff;
/** Slots of a new table. */
const FIRST_SLOTS = 1024;
/** Bits of the seen-once bitmap per name the cache holds: emptied at names first sights, at most 1/16 of it is set. */
const SEEN_BITS_PER_NAME = 16;

const powerOfTwoAtLeast = (n: number): number => 2 ** Math.ceil(Math.log2(Math.max(1, n)));

export function createNameCache(limits: NameCacheLimits): NameCache {
  const off = limits.names <= 0 || limits.bytes <= HEADER;
  // Slot i is (hash, slab offset + 1) at [2i, 2i + 1]: one cache line per probe. Offset 0 is an empty slot.
  let slots = new Int32Array(0);
  let mask = 0;
  // Allocated at the first store: a router that never hash-routes pays nothing.
  let slab = Buffer.alloc(0);
  let seen = new Int32Array(0);
  const seenMask = powerOfTwoAtLeast(limits.names * SEEN_BITS_PER_NAME) - 1;
  let firstSights = 0;
  let used = 0;
  let names = 0;
  let hits = 0;
  let misses = 0;

  const newTable = (slotCount: number): void => {
    slots = new Int32Array(2 * slotCount);
    mask = slotCount - 1;
  };

  // The bitmap stays: a name seen before the cache was emptied is kept at its next sight.
  const clear = (): void => {
    if (slab.length === 0) return;
    newTable(FIRST_SLOTS);
    used = 0;
    names = 0;
  };

  /** The empty slot for a hash (the name is not in the table). */
  const vacancy = (hash: number): number => {
    let i = hash & mask;
    while (slots[2 * i + 1] !== 0) i = (i + 1) & mask;
    return i;
  };

  /** Twice the slots, the names placed again. */
  const grow = (): void => {
    const old = slots;
    newTable(old.length);
    for (let j = 0; j < old.length; j += 2) {
      if (old[j + 1] === 0) continue;
      const i = vacancy(old[j]!);
      slots[2 * i] = old[j]!;
      slots[2 * i + 1] = old[j + 1]!;
    }
  };

  /** Whether the name of this hash was seen before (then it is kept); marks it seen. */
  const seenBefore = (hash: number): boolean => {
    const bit = hash & seenMask;
    const word = bit >>> 5;
    const flag = 1 << (bit & 31);
    if ((seen[word]! & flag) !== 0) return true;
    seen[word]! |= flag;
    if (++firstSights >= limits.names) {
      seen.fill(0);
      firstSights = 0;
    }
    return false;
  };

  return {
    lookup(buf, start, end, hash) {
      const length = end - start;
      for (let i = hash & mask; names > 0; i = (i + 1) & mask) {
        const entry = slots[2 * i + 1]!;
        if (entry === 0) break;
        if (slots[2 * i] !== (hash | 0)) continue;
        const at = entry - 1;
        if ((slab[at + 2]! | (slab[at + 3]! << 8)) !== length) continue;
        const name = at + HEADER;
        let k = 0;
        while (k < length && slab[name + k] === buf[start + k]) k++;
        if (k === length) {
          hits++;
          return slab[at]! | (slab[at + 1]! << 8);
        }
      }
      misses++;
      return -1;
    },
    store(buf, start, end, hash, position) {
      const length = end - start;
      if (off || length > MAX_NAME || position > MAX_POSITION || HEADER + length > limits.bytes) return;
      if (slab.length === 0) {
        slab = Buffer.allocUnsafeSlow(limits.bytes);
        seen = new Int32Array((seenMask + 1) / 32);
        newTable(FIRST_SLOTS);
      }
      if (!seenBefore(hash)) return;
      if (names >= limits.names || used + HEADER + length > slab.length) clear();
      // At most half the slots in use.
      else if (2 * (names + 1) > mask + 1) grow();
      const i = vacancy(hash);
      slots[2 * i] = hash | 0;
      slots[2 * i + 1] = used + 1;
      slab[used] = position & 0xff;
      slab[used + 1] = position >>> 8;
      slab[used + 2] = length & 0xff;
      slab[used + 3] = length >>> 8;
      for (let k = 0; k < length; k++) slab[used + HEADER + k] = buf[start + k]!;
      used += HEADER + length;
      names++;
    },
    clear,
    get hits() {
      return hits;
    },
    get misses() {
      return misses;
    },
    get names() {
      return names;
    },
    get bytes() {
      return used;
    },
  };
}

/** `polymur_route_name_cache_*`: how often hash-route found a name's ring position in the cache, and what the cache holds. */
export function registerNameCacheMetrics(registry: Registry, cache: NameCache): void {
  registry.collectedCounter('polymur_route_name_cache_hits_total', 'Metric names whose hash-route position came from the name cache', () => cache.hits);
  registry.collectedCounter('polymur_route_name_cache_misses_total', 'Metric names hash-route placed by their MD5 (not in the name cache)', () => cache.misses);
  registry.gauge('polymur_route_name_cache_names', 'Metric names the hash-route name cache holds', () => cache.names);
  registry.gauge('polymur_route_name_cache_bytes', "Bytes of the hash-route name cache's slab in use (each name's bytes plus 4)", () => cache.bytes);
}
