// Carbon's ConsistentHashRing (carbon 1.1 carbon/hashing.py), byte for byte, so a metric lands on
// the node where graphite-web will look for it:
// - node (host, instance); 100 replicas keyed "%s:%d" % (node_tuple, i) for carbon_ch,
//   "%d-%s" % (i, instance) for fnv1a_ch;
// - carbon_ch position: first 16 bits of MD5; fnv1a_ch: FNV-1a 32 folded (h >> 16) ^ (h & 0xffff);
// - a taken position is bumped by 1 until free; a key goes to the first entry at or after its position.
// A metric name's position has 16 bits, so the ring is also a table of the first entry at or after
// each of the 65,536 positions: placing a name is its hash and one array read, and the name cache
// holds positions, which serve every replication factor alike.
import type { DestinationAddress } from './destination.js';
import { nodeKey } from './destination.js';
import { md5Prefix16, type Md5Prefix16 } from './md5.js';
import { createNameCache, DEFAULT_NAME_CACHE_NAMES, nameCacheLimits, type NameCache } from './name-cache.js';

export type HashType = 'carbon_ch' | 'fnv1a_ch';

export interface HashRing {
  /**
   * Up to `count` nodes for a metric name, in ring order, on distinct hosts: carbon's relay
   * (ConsistentHashingRouter.getDestinations with its default DIVERSE_REPLICAS = True).
   */
  getNodes(metric: Buffer | string, count: number): DestinationAddress[];
  /**
   * Index (in `nodes` order) of the first node for the metric name metric[start, end): the hot
   * path for replication 1. carbon_ch answers names seen before from the name cache, without MD5.
   */
  firstNodeIndex(metric: Buffer, start?: number, end?: number): number;
  /**
   * Indexes (in `nodes` order) of getNodes(metric[start, end), count): the hot path for replication
   * above 1, answered from the same name cache. The array is the ring's, not to be changed.
   */
  nodeIndexes(metric: Buffer, start: number, end: number, count: number): readonly number[];
  readonly nodes: readonly DestinationAddress[];
}

/** Python's repr() of a str, for the ASCII names hosts and instances use. */
function pyRepr(s: string | null): string {
  if (s === null) return 'None';
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  return quote + s.replace(/\\/g, '\\\\').replace(new RegExp(quote, 'g'), `\\${quote}`) + quote;
}

export function fnv1a32(data: Buffer, start = 0, end = data.length): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    h ^= data[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** fnv1a_ch's position: FNV-1a 32, folded to 16 bits. */
const foldFnv = (h: number): number => (h >>> 16) ^ (h & 0xffff);

export function ringPosition(key: Buffer, hashType: HashType, md5: Md5Prefix16 = md5Prefix16): number {
  return hashType === 'fnv1a_ch' ? foldFnv(fnv1a32(key)) : md5(key, 0, key.length);
}

export interface HashRingOptions {
  /**
   * carbon_ch's name -> position cache, emptied here (this ring places names anew): the router keeps
   * one across rebuilds, so its counts go on. A cache of the default size when absent.
   */
  readonly cache?: NameCache;
  /** carbon_ch's MD5: the native addon's where it is built (tests pass each). */
  readonly md5?: Md5Prefix16;
}

function replicaKey(node: DestinationAddress, i: number, hashType: HashType): string {
  return hashType === 'fnv1a_ch' ? `${i}-${node.instance ?? 'None'}` : `(${pyRepr(node.host)}, ${pyRepr(node.instance)}):${i}`;
}

/** Replicas per node: carbon's. */
const REPLICAS = 100;

/** Positions a metric name can have: 16 bits. */
const NAME_POSITIONS = 0x10000;

export function createHashRing(nodes: readonly DestinationAddress[], hashType: HashType, options: HashRingOptions = {}): HashRing {
  const md5 = options.md5 ?? md5Prefix16;
  const positions: number[] = [];
  const owners: number[] = [];
  const taken = new Set<number>();
  // Insert node by node, replica by replica, as carbon does: collisions depend on that order.
  const entries: Array<[number, number]> = [];
  nodes.forEach((node, n) => {
    for (let i = 0; i < REPLICAS; i++) {
      let position = ringPosition(Buffer.from(replicaKey(node, i, hashType)), hashType, md5);
      while (taken.has(position)) position++;
      taken.add(position);
      entries.push([position, n]);
    }
  });
  entries.sort((a, b) => a[0] - b[0]);
  for (const [p, n] of entries) {
    positions.push(p);
    owners.push(n);
  }
  const distinctNodes = new Set(nodes.map(nodeKey)).size;
  const distinctHosts = new Set(nodes.map((n) => n.host)).size;

  /** Index of the first entry whose position is >= position, wrapping to 0. */
  const search = (position: number): number => {
    let lo = 0;
    let hi = positions.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (positions[mid]! < position) lo = mid + 1;
      else hi = mid;
    }
    return lo === positions.length ? 0 : lo;
  };

  // The first entry at or after each position, and so its owner.
  const entryAt = new Uint32Array(positions.length === 0 ? 0 : NAME_POSITIONS);
  for (let p = 0; p < entryAt.length; p++) entryAt[p] = search(p);

  /**
   * Owner indexes of `count` copies for a name whose first entry is `index`: carbon's walk round the
   * ring, one node per host, stopping one entry short of a full turn.
   */
  const walk = (index: number, count: number): number[] => {
    if (distinctNodes === 1) return [0];
    const last = (index - 1 + positions.length) % positions.length;
    const chosen: number[] = [];
    const usedHosts = new Set<string>();
    const want = Math.min(count, distinctHosts);
    while (chosen.length < want && index !== last) {
      const owner = owners[index]!;
      // A replica on another instance of the same host would not survive that host's loss.
      if (!usedHosts.has(nodes[owner]!.host)) {
        usedHosts.add(nodes[owner]!.host);
        chosen.push(owner);
      }
      index = (index + 1) % positions.length;
    }
    return chosen;
  };

  const cache = options.cache ?? createNameCache(nameCacheLimits(DEFAULT_NAME_CACHE_NAMES));
  cache.clear();

  /** The position of metric[start, end): fnv1a_ch's is its hash; carbon_ch's from the cache, or MD5. */
  const positionOf = (metric: Buffer, start: number, end: number): number => {
    const hash = fnv1a32(metric, start, end);
    if (hashType === 'fnv1a_ch') return foldFnv(hash);
    const cached = cache.lookup(metric, start, end, hash);
    if (cached >= 0) return cached;
    const position = md5(metric, start, end);
    cache.store(metric, start, end, hash, position);
    return position;
  };

  // Replication's placements by first entry, per count: a few hundred small arrays at most, made when first asked.
  const placements = new Map<number, Array<readonly number[] | undefined>>();

  return {
    nodes,
    firstNodeIndex(metric, start = 0, end = metric.length) {
      return owners[entryAt[positionOf(metric, start, end)]!]!;
    },
    nodeIndexes(metric, start, end, count) {
      if (positions.length === 0 || count < 1) return [];
      const index = entryAt[positionOf(metric, start, end)]!;
      let byEntry = placements.get(count);
      if (byEntry === undefined) placements.set(count, (byEntry = new Array<readonly number[] | undefined>(positions.length)));
      return (byEntry[index] ??= walk(index, count));
    },
    getNodes(metric, count) {
      if (positions.length === 0 || count < 1) return [];
      const key = typeof metric === 'string' ? Buffer.from(metric) : metric;
      return walk(search(ringPosition(key, hashType, md5)), count).map((n) => nodes[n]!);
    },
  };
}
