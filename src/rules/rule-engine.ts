// The rules applied to a batch of validated lines, on Buffers: one pass over the lines, each
// name looked up in a bounded cache of verdicts (distinct name -> keep, new name or drop), so a
// regular expression runs once per distinct name, not per data point. At the relay the same pass
// places each line on its hash-route destinations (split()): a verdict also holds the ring node
// indexes of its name as the rules leave it, for the ring it was placed on, so a known name is
// renamed or dropped and placed with one lookup, straight into its destination's part (route/
// split.ts's PartsBuilder). Lines the rules leave alone stay byte ranges of the input, copied once
// into their part, or not at all when a part is one run of the batch.
import type { HashRing } from '../route/hash-ring.js';
import { nodeIndexes, PartsBuilder, type SplitBatch } from '../route/split.js';
import { decideName, type NameRules, type RuleDropReason } from './name-rules.js';

export interface RuleCounts {
  /** Lines out (once each, whatever the replication). */
  readonly points: number;
  readonly renamed: number;
  readonly dropped: ReadonlyMap<RuleDropReason, number>;
  /** The first line dropped, why, for the log. */
  readonly firstDrop?: string;
}

export interface RuleOutcome extends RuleCounts {
  readonly data: Buffer;
}

export interface RuleSplit extends RuleCounts, SplitBatch {}

export interface RuleEngine {
  /**
   * The lines of `data` (complete, LF-terminated, validated) with the rules applied, the key
   * prefix joined to each name ('' for none).
   */
  apply(data: Buffer, prefix: string): RuleOutcome;
  /**
   * The same lines placed by their names as the rules leave them: on `ring`'s node indexes,
   * `replication` per name (carbon's placement), or, with no ring, all in part 0.
   */
  split(data: Buffer, prefix: string, ring: HashRing | undefined, replication: number): RuleSplit;
  /** Distinct names whose verdict is held. */
  cachedNames(): number;
}

export interface CacheCounters {
  hit(n: number): void;
  miss(n: number): void;
}

/** What apply() gives when the rules drop every line. */
const EMPTY: Buffer = Buffer.alloc(0);

class Entry {
  next: Entry | undefined = undefined;
  /** The ring and replication the placement below was found for (a rebuilt ring is a new object). */
  ring: HashRing | undefined = undefined;
  replication = 0;
  /** The first ring node index of the name as the rules leave it; all of them with replication > 1. */
  node = 0;
  nodes: readonly number[] = [];

  constructor(
    /**
     * The name as received behind the prefix (the cache's key), then the new name when the rules
     * change it: one buffer, so the bytes compared and the bytes written are next to each other.
     */
    readonly bytes: Buffer,
    readonly keyLength: number,
    readonly drop: RuleDropReason | undefined,
    readonly why: string,
  ) {}

  get renamed(): boolean {
    return this.bytes.length > this.keyLength;
  }

  /** The same verdict and placement, for another chain of the cache. */
  moved(): Entry {
    const e = new Entry(this.bytes, this.keyLength, this.drop, this.why);
    e.ring = this.ring;
    e.replication = this.replication;
    e.node = this.node;
    e.nodes = this.nodes;
    return e;
  }

  /** Finds the ring node indexes of the name as the rules leave it, unless known for this ring. */
  place(ring: HashRing, replication: number): void {
    if (this.ring === ring && this.replication === replication) return;
    const renamed = this.renamed;
    this.nodes = nodeIndexes(ring, this.bytes, renamed ? this.keyLength : 0, renamed ? this.bytes.length : this.keyLength, replication);
    this.node = this.nodes[0] ?? 0;
    this.ring = ring;
    this.replication = replication;
  }
}

const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function fnv(buf: Buffer, start: number, end: number, h: number): number {
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, FNV_PRIME);
  return h >>> 0;
}

/**
 * Two generations of at most maxNames / 2 names each: a name found in the older one moves to the
 * newer; when the newer is full it becomes the older and the oldest is forgotten. Names in use
 * stay, whatever the number of names seen once, and memory stays bounded.
 */
class VerdictCache {
  private current = new Map<number, Entry>();
  private previous = new Map<number, Entry>();
  private currentSize = 0;
  private previousSize = 0;

  constructor(private readonly generationSize: number) {}

  get size(): number {
    return this.currentSize + this.previousSize;
  }

  find(hash: number, prefix: Buffer, buf: Buffer, start: number, end: number): Entry | undefined {
    const found = lookup(this.current.get(hash), prefix, buf, start, end);
    if (found !== undefined) return found;
    const old = lookup(this.previous.get(hash), prefix, buf, start, end);
    if (old !== undefined) this.add(hash, old.moved());
    return old;
  }

  add(hash: number, entry: Entry): void {
    if (this.currentSize >= this.generationSize) {
      this.previous = this.current;
      this.previousSize = this.currentSize;
      this.current = new Map();
      this.currentSize = 0;
    }
    entry.next = this.current.get(hash);
    this.current.set(hash, entry);
    this.currentSize++;
  }
}

function lookup(chain: Entry | undefined, prefix: Buffer, buf: Buffer, start: number, end: number): Entry | undefined {
  const p = prefix.length;
  for (let e = chain; e !== undefined; e = e.next) {
    const k = e.bytes;
    if (e.keyLength === p + end - start && sameBytes(k, p, buf, start, end) && (p === 0 || sameBytes(k, 0, prefix, 0, p))) return e;
  }
  return undefined;
}

/** a[at, ...) holds b[start, end): a byte loop, cheaper than a native call for a name's few dozen bytes. */
function sameBytes(a: Buffer, at: number, b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (a[at++] !== b[i]) return false;
  return true;
}

export function createRuleEngine(rules: NameRules, opts: { maxNames: number; counters: CacheCounters }): RuleEngine {
  const cache = new VerdictCache(Math.max(1, Math.floor(opts.maxNames / 2)));

  const decide = (hash: number, prefix: Buffer, prefixText: string, buf: Buffer, start: number, end: number): Entry => {
    const keyLength = prefix.length + end - start;
    const verdict = decideName(rules, buf.toString('utf8', start, end), prefixText);
    const renamed = verdict.kind === 'rename' ? Buffer.from(verdict.name) : EMPTY;
    const bytes = Buffer.allocUnsafe(keyLength + renamed.length);
    prefix.copy(bytes, 0);
    buf.copy(bytes, prefix.length, start, end);
    renamed.copy(bytes, keyLength);
    const entry = verdict.kind === 'drop' ? new Entry(bytes, keyLength, verdict.reason, verdict.why) : new Entry(bytes, keyLength, undefined, '');
    cache.add(hash, entry);
    return entry;
  };

  const parts = new PartsBuilder();
  const split = (data: Buffer, prefixText: string, ring: HashRing | undefined, replication: number): RuleSplit => {
    const prefix = Buffer.from(prefixText);
    const seed = fnv(prefix, 0, prefix.length, FNV_OFFSET);
    parts.start(data, ring === undefined ? 1 : ring.nodes.length);
    const dropped = new Map<RuleDropReason, number>();
    let points = 0;
    let renamed = 0;
    let firstDrop: string | undefined;
    let hits = 0;
    let misses = 0;
    let pos = 0;
    while (pos < data.length) {
      let nameStart = pos;
      while (data[nameStart] === SPACE || data[nameStart] === TAB) nameStart++;
      // The name's end and its hash in one pass.
      let nameEnd = nameStart;
      let hash = seed;
      for (let c = data[nameEnd]; c !== SPACE && c !== TAB && c !== LF && c !== undefined; c = data[++nameEnd]) hash = Math.imul(hash ^ c, FNV_PRIME);
      hash >>>= 0;
      let nl = data.indexOf(LF, nameEnd);
      if (nl === -1) nl = data.length - 1;
      const next = nl + 1;
      let entry = cache.find(hash, prefix, data, nameStart, nameEnd);
      if (entry === undefined) {
        misses++;
        entry = decide(hash, prefix, prefixText, data, nameStart, nameEnd);
      } else hits++;
      if (entry.drop !== undefined) {
        dropped.set(entry.drop, (dropped.get(entry.drop) ?? 0) + 1);
        firstDrop ??= `${entry.drop}: ${entry.why}: ${JSON.stringify(data.toString('utf8', pos, Math.min(nl, pos + 200)))}`;
      } else {
        points++;
        // Written as it came, or as the name the rules and the prefix leave (in entry.bytes) then the rest of the line.
        const { bytes, keyLength } = entry;
        let headStart = 0;
        let headEnd = prefix.length > 0 ? keyLength : 0;
        if (bytes.length > keyLength) {
          renamed++;
          headStart = keyLength;
          headEnd = bytes.length;
        }
        let node = 0;
        if (ring !== undefined) {
          entry.place(ring, replication);
          node = entry.node;
        }
        if (ring === undefined || replication === 1) parts.lineTo(node, bytes, headStart, headEnd, pos, nameEnd, next);
        else for (const n of entry.nodes) parts.lineTo(n, bytes, headStart, headEnd, pos, nameEnd, next);
      }
      pos = next;
    }
    if (hits > 0) opts.counters.hit(hits);
    if (misses > 0) opts.counters.miss(misses);
    const counts = { parts: parts.parts(), points, renamed, dropped };
    return firstDrop === undefined ? counts : { ...counts, firstDrop };
  };

  return {
    cachedNames: () => cache.size,
    split,
    apply(data, prefixText) {
      const { parts, ...counts } = split(data, prefixText, undefined, 1);
      return { ...counts, data: parts.get(0)?.data ?? EMPTY };
    },
  };
}
