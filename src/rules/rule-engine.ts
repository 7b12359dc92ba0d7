// The rules applied to a batch of validated lines, on Buffers: one pass over the lines, each
// name looked up in a bounded cache of verdicts (distinct name -> keep, new name or drop), so a
// regular expression runs once per distinct name, not per data point. Lines the rules leave
// alone stay byte ranges of the input, copied only when something around them changed.
import { decideName, type NameRules, type RuleDropReason } from './name-rules.js';

export interface RuleCounts {
  /** Lines out. */
  points: number;
  renamed: number;
  readonly dropped: Map<RuleDropReason, number>;
}

export interface RuleOutcome extends RuleCounts {
  readonly data: Buffer;
  /** The first line dropped, why, for the log. */
  readonly firstDrop?: string;
}

export interface RuleEngine {
  /**
   * The lines of `data` (complete, LF-terminated, validated) with the rules applied, the key
   * prefix joined to each name ('' for none).
   */
  apply(data: Buffer, prefix: string): RuleOutcome;
  /** Distinct names whose verdict is held. */
  cachedNames(): number;
}

export interface CacheCounters {
  hit(n: number): void;
  miss(n: number): void;
}

interface Entry {
  readonly key: Buffer;
  /** undefined: the name stays (behind the prefix, if any); else the whole new name. */
  readonly name: Buffer | undefined;
  readonly drop: RuleDropReason | undefined;
  readonly why: string;
  next: Entry | undefined;
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
    if (old !== undefined) this.add(hash, { ...old, next: undefined });
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
    const k = e.key;
    if (k.length === p + end - start && sameBytes(k, p, buf, start, end) && (p === 0 || sameBytes(k, 0, prefix, 0, p))) return e;
  }
  return undefined;
}

/** a[at, ...) holds b[start, end): a byte loop, cheaper than a native call for a name's few dozen bytes. */
function sameBytes(a: Buffer, at: number, b: Buffer, start: number, end: number): boolean {
  for (let i = start; i < end; i++) if (a[at++] !== b[i]) return false;
  return true;
}

/**
 * The output batch, written in place: lines kept are copied by runs, a new name byte by byte (a
 * few dozen bytes, where a native copy's call would cost more). Grows when new names are longer.
 */
class Output {
  buf: Buffer;
  at = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  private room(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }
  /** A whole buffer: TypedArray#set on it needs no view. */
  whole(src: Buffer): void {
    this.room(src.length);
    this.buf.set(src, this.at);
    this.at += src.length;
  }
  run(src: Buffer, start: number, end: number): void {
    this.room(end - start);
    if (end - start > 64) {
      this.buf.set(new Uint8Array(src.buffer, src.byteOffset + start, end - start), this.at);
      this.at += end - start;
    } else {
      const b = this.buf;
      let at = this.at;
      for (let i = start; i < end; i++) b[at++] = src[i]!;
      this.at = at;
    }
  }
}

export function createRuleEngine(rules: NameRules, opts: { maxNames: number; counters: CacheCounters }): RuleEngine {
  const cache = new VerdictCache(Math.max(1, Math.floor(opts.maxNames / 2)));

  const decide = (hash: number, prefix: Buffer, prefixText: string, buf: Buffer, start: number, end: number): Entry => {
    const key = Buffer.allocUnsafe(prefix.length + end - start);
    prefix.copy(key, 0);
    buf.copy(key, prefix.length, start, end);
    const verdict = decideName(rules, buf.toString('utf8', start, end), prefixText);
    const entry: Entry =
      verdict.kind === 'drop'
        ? { key, name: undefined, drop: verdict.reason, why: verdict.why, next: undefined }
        : { key, name: verdict.kind === 'rename' ? Buffer.from(verdict.name) : undefined, drop: undefined, why: '', next: undefined };
    cache.add(hash, entry);
    return entry;
  };

  return {
    cachedNames: () => cache.size,
    apply(data, prefixText) {
      const prefix = Buffer.from(prefixText);
      const seed = fnv(prefix, 0, prefix.length, FNV_OFFSET);
      // Allocated only once a line changes: a batch the rules leave alone is handed on as it came.
      let out: Output | undefined;
      const counts: RuleCounts = { points: 0, renamed: 0, dropped: new Map() };
      let firstDrop: string | undefined;
      let hits = 0;
      let misses = 0;
      // The run of consecutive lines kept as they are, not yet copied to the output.
      let runStart = 0;
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
        if (entry.drop === undefined && entry.name === undefined && prefix.length === 0) {
          counts.points++;
        } else {
          out ??= new Output(data.length + (data.length >> 2) + 256);
          if (runStart < pos) out.run(data, runStart, pos);
          if (entry.drop !== undefined) {
            counts.dropped.set(entry.drop, (counts.dropped.get(entry.drop) ?? 0) + 1);
            firstDrop ??= `${entry.drop}: ${entry.why}: ${JSON.stringify(data.toString('utf8', pos, Math.min(nl, pos + 200)))}`;
          } else {
            counts.points++;
            if (entry.name !== undefined) {
              counts.renamed++;
              out.whole(entry.name);
            } else {
              out.run(prefix, 0, prefix.length);
              out.run(data, nameStart, nameEnd);
            }
            out.run(data, nameEnd, next);
          }
          runStart = next;
        }
        pos = next;
      }
      if (hits > 0) opts.counters.hit(hits);
      if (misses > 0) opts.counters.miss(misses);
      let joined = data;
      if (out !== undefined) {
        if (runStart < data.length) out.run(data, runStart, data.length);
        joined = out.buf.subarray(0, out.at);
      }
      return firstDrop === undefined ? { ...counts, data: joined } : { ...counts, data: joined, firstDrop };
    },
  };
}
