// Carbon's ConsistentHashRing (carbon 1.1 carbon/hashing.py), byte for byte, so a metric lands on
// the node where graphite-web will look for it:
// - node (host, instance); 100 replicas keyed "%s:%d" % (node_tuple, i) for carbon_ch,
//   "%d-%s" % (i, instance) for fnv1a_ch;
// - carbon_ch position: first 16 bits of MD5; fnv1a_ch: FNV-1a 32 folded (h >> 16) ^ (h & 0xffff);
// - a taken position is bumped by 1 until free; a key goes to the first entry at or after its position.
import { hash as oneShotHash } from 'node:crypto';
import type { DestinationAddress } from './destination.js';
import { nodeKey } from './destination.js';

export type HashType = 'carbon_ch' | 'fnv1a_ch';

export interface HashRing {
  /**
   * Up to `count` nodes for a metric name, in ring order, on distinct hosts: carbon's relay
   * (ConsistentHashingRouter.getDestinations with its default DIVERSE_REPLICAS = True).
   */
  getNodes(metric: Buffer | string, count: number): DestinationAddress[];
  /**
   * Index (in `nodes` order) of the first node for the metric name metric[start, end): the hot
   * path for replication 1. Names seen before are answered from a cache, without MD5.
   */
  firstNodeIndex(metric: Buffer, start?: number, end?: number): number;
  /**
   * Indexes (in `nodes` order) of getNodes(metric[start, end), count): the hot path for replication
   * above 1. Names seen before are answered from a cache, without MD5; the array is the cache's, not to be changed.
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

export function ringPosition(key: Buffer, hashType: HashType): number {
  if (hashType === 'fnv1a_ch') {
    const h = fnv1a32(key);
    return (h >>> 16) ^ (h & 0xffff);
  }
  const digest = oneShotHash('md5', key, 'buffer');
  return (digest[0]! << 8) | digest[1]!;
}

/**
 * Names the name -> node cache holds: metric names repeat every interval, and a cached answer
 * costs a short hash, a lookup and a compare instead of an MD5. Emptied when full (some 15 MiB at most).
 */
const CACHE_MAX_NAMES = 1 << 16;

interface CachedPlacement {
  readonly name: Buffer;
  readonly owner: number;
}

/** A name's replication placement: its node indexes for `count` copies. */
interface CachedReplicas {
  readonly name: Buffer;
  readonly count: number;
  readonly owners: readonly number[];
}

/** buf[start, end) equals name, byte for byte. */
function sameBytes(buf: Buffer, start: number, end: number, name: Buffer): boolean {
  if (end - start !== name.length) return false;
  for (let i = 0; i < name.length; i++) if (buf[start + i] !== name[i]) return false;
  return true;
}

function replicaKey(node: DestinationAddress, i: number, hashType: HashType): string {
  return hashType === 'fnv1a_ch' ? `${i}-${node.instance ?? 'None'}` : `(${pyRepr(node.host)}, ${pyRepr(node.instance)}):${i}`;
}

export function createHashRing(nodes: readonly DestinationAddress[], hashType: HashType, replicas = 100): HashRing {
  const positions: number[] = [];
  const owners: number[] = [];
  const taken = new Set<number>();
  // Insert node by node, replica by replica, as carbon does: collisions depend on that order.
  const entries: Array<[number, number]> = [];
  nodes.forEach((node, n) => {
    for (let i = 0; i < replicas; i++) {
      let position = ringPosition(Buffer.from(replicaKey(node, i, hashType)), hashType);
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

  // Keyed by FNV-1a of the name; the ring never changes (a new ring is built instead), so neither do the answers.
  const cache = new Map<number, CachedPlacement>();

  // Replication's placements (nodeIndexes), cached per name as firstNodeIndex's owners are: getNodes
  // once per new name, then a short hash, a lookup and a compare per line instead of an MD5, a Set and
  // two arrays.
  const placements = new Map<number, CachedReplicas>();
  let indexOfNode: Map<DestinationAddress, number> | undefined;

  return {
    nodes,
    nodeIndexes(metric, start, end, count) {
      const key = fnv1a32(metric, start, end);
      const cached = placements.get(key);
      if (cached !== undefined && cached.count === count && sameBytes(metric, start, end, cached.name)) return cached.owners;
      const name = Buffer.from(metric.subarray(start, end)); // a copy: metric is a view of a batch
      indexOfNode ??= new Map(nodes.map((n, i) => [n, i]));
      const owners = this.getNodes(name, count).map((n) => indexOfNode!.get(n)!);
      if (placements.size >= CACHE_MAX_NAMES) placements.clear();
      placements.set(key, { name, count, owners });
      return owners;
    },
    firstNodeIndex(metric, start = 0, end = metric.length) {
      const key = fnv1a32(metric, start, end);
      const cached = cache.get(key);
      if (cached !== undefined && sameBytes(metric, start, end, cached.name)) return cached.owner;
      const name = Buffer.from(metric.subarray(start, end)); // a copy: metric is a view of a batch
      const owner = owners[search(ringPosition(name, hashType))]!;
      if (cache.size >= CACHE_MAX_NAMES) cache.clear();
      cache.set(key, { name, owner });
      return owner;
    },
    getNodes(metric, count) {
      if (positions.length === 0 || count < 1) return [];
      if (distinctNodes === 1) return [nodes[0]!];
      const key = typeof metric === 'string' ? Buffer.from(metric) : metric;
      let index = search(ringPosition(key, hashType));
      // carbon stops one entry short of a full turn.
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
      return chosen.map((n) => nodes[n]!);
    },
  };
}
