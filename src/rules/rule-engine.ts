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
    if (k.length !== p + end - start) continue;
    if (p > 0 && prefix.compare(k, 0, p) !== 0) continue;
    if (k.compare(buf, start, end, p, k.length) === 0) return e;
  }
  return undefined;
}

class Pieces {
  readonly list: Buffer[] = [];
  bytes = 0;
  add(piece: Buffer): void {
    this.list.push(piece);
    this.bytes += piece.length;
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
      const out = new Pieces();
      const counts: RuleCounts = { points: 0, renamed: 0, dropped: new Map() };
      let firstDrop: string | undefined;
      let hits = 0;
      let misses = 0;
      // The run of consecutive lines kept as they are, not yet added to the output.
      let runStart = 0;
      let pos = 0;
      while (pos < data.length) {
        let nl = data.indexOf(LF, pos);
        if (nl === -1) nl = data.length - 1;
        let nameStart = pos;
        while (data[nameStart] === SPACE || data[nameStart] === TAB) nameStart++;
        let nameEnd = nameStart;
        while (nameEnd < nl && data[nameEnd] !== SPACE && data[nameEnd] !== TAB) nameEnd++;
        const hash = fnv(data, nameStart, nameEnd, seed);
        let entry = cache.find(hash, prefix, data, nameStart, nameEnd);
        if (entry === undefined) {
          misses++;
          entry = decide(hash, prefix, prefixText, data, nameStart, nameEnd);
        } else hits++;
        const next = nl + 1;
        if (entry.drop === undefined && entry.name === undefined && prefix.length === 0) {
          counts.points++;
        } else {
          if (runStart < pos) out.add(data.subarray(runStart, pos));
          if (entry.drop !== undefined) {
            counts.dropped.set(entry.drop, (counts.dropped.get(entry.drop) ?? 0) + 1);
            firstDrop ??= `${entry.drop}: ${entry.why}: ${JSON.stringify(data.toString('utf8', pos, Math.min(nl, pos + 200)))}`;
          } else {
            counts.points++;
            if (entry.name !== undefined) {
              counts.renamed++;
              out.add(entry.name);
            } else {
              out.add(prefix);
              out.add(data.subarray(nameStart, nameEnd));
            }
            out.add(data.subarray(nameEnd, next));
          }
          runStart = next;
        }
        pos = next;
      }
      if (runStart < data.length) out.add(data.subarray(runStart));
      if (hits > 0) opts.counters.hit(hits);
      if (misses > 0) opts.counters.miss(misses);
      const joined = out.list.length === 1 ? out.list[0]! : Buffer.concat(out.list, out.bytes);
      return firstDrop === undefined ? { ...counts, data: joined } : { ...counts, data: joined, firstDrop };
    },
  };
}
