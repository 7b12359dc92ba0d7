// hash-route's hot path: one pass over a batch, each line placed by its metric name, consecutive
// lines for the same destination kept as one byte range, then one copy per destination. A layer
// above (the rule files) can hand the router its own pass (SplitLines) that renames and drops
// lines as it places them, with the same parts builder: one pass, one copy, whatever the rules do.
import type { Batch, BatchSink } from '../batch/batch.js';
import type { HashRing } from './hash-ring.js';

const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
/** Bytes below which a range is copied byte by byte. */
const SHORT_RANGE = 40;

/** A batch's lines per ring node index (no ring: every line in part 0), and how many lines that is (once each, whatever the replication). */
export interface SplitBatch {
  readonly parts: ReadonlyMap<number, Batch>;
  readonly points: number;
}

/**
 * How a fresh batch's lines are placed: on `ring`'s node indexes, `replication` of them per name,
 * or with no ring (broadcast, the console) all into part 0.
 */
export type SplitLines = (data: Buffer, ring: HashRing | undefined, replication: number) => SplitBatch;

/** A sink that places a batch with the caller's own pass over its lines (the router, the console). */
export interface SplitSink extends BatchSink {
  /** As offer(), the lines placed by `split` (called once per offer, only if the sink can take the batch now). */
  offerSplit(batch: Batch, split: SplitLines): boolean;
}

/**
 * One part's lines as records: [start, end] a byte range of the batch, [-1 - i, start, end] the
 * i-th head (a new name, a key prefix) then a byte range; `last` is the index of the last record's
 * end, so a range that continues it is merged into it. With its line and byte counts.
 */
interface Records {
  readonly bounds: number[];
  last: number;
  points: number;
  bytes: number;
}

/**
 * The parts of one batch, built as its lines are placed: byte ranges of the batch (consecutive
 * ones merged), some behind a head buffer (a new name, a key prefix), copied once, at their exact
 * size, by parts(). A part that is one range of the batch is a view of it, the whole batch the batch itself.
 */
export class PartsBuilder {
  private readonly byNode: Array<Records | undefined>;
  private readonly heads: Buffer[] = [];

  constructor(
    private readonly data: Buffer,
    nodes: number,
  ) {
    // Indexed by ring node: an array lookup per line, not a Map's.
    this.byNode = new Array<Records | undefined>(nodes);
  }

  private of(node: number): Records {
    return (this.byNode[node] ??= { bounds: [], last: -1, points: 0, bytes: 0 });
  }

  /** The line data[start, end) at the end of `node`'s part. */
  line(node: number, start: number, end: number): void {
    const r = this.of(node);
    const b = r.bounds;
    if (r.last >= 0 && b[r.last] === start) b[r.last] = end;
    else {
      b.push(start, end);
      r.last = b.length - 1;
    }
    r.points++;
    r.bytes += end - start;
  }

  /** A line made of `head` then data[start, end) (the rest of the line) at the end of `node`'s part. */
  lineAfter(node: number, head: Buffer, start: number, end: number): void {
    const r = this.of(node);
    const b = r.bounds;
    b.push(-1 - this.heads.length, start, end);
    this.heads.push(head);
    r.last = b.length - 1;
    r.points++;
    r.bytes += head.length + end - start;
  }

  parts(): Map<number, Batch> {
    const { data, heads } = this;
    const out = new Map<number, Batch>();
    this.byNode.forEach((r, node) => {
      if (r === undefined) return;
      const b = r.bounds;
      let part: Buffer;
      if (b.length === 2) part = b[0] === 0 && b[1] === data.length ? data : data.subarray(b[0], b[1]);
      else {
        part = Buffer.allocUnsafe(r.bytes);
        let at = 0;
        for (let k = 0; k < b.length;) {
          if (b[k]! < 0) {
            const head = heads[-1 - b[k++]!]!;
            part.set(head, at);
            at += head.length;
          }
          const start = b[k++]!;
          const end = b[k++]!;
          // The end of a renamed line byte by byte; a line or more with set() on a plain Uint8Array
          // view (the view costs what a loop over some 45 bytes does, Buffer#copy twice that).
          if (end - start < SHORT_RANGE) for (let i = start; i < end; i++) part[at++] = data[i]!;
          else {
            part.set(new Uint8Array(data.buffer, data.byteOffset + start, end - start), at);
            at += end - start;
          }
        }
      }
      out.set(node, { data: part, points: r.points });
    });
    return out;
  }
}

/** Indexes (in `ring.nodes` order) of the `replication` nodes of the name name[start, end). */
export function nodeIndexes(ring: HashRing, name: Buffer, start: number, end: number, replication: number): number[] {
  if (replication === 1) return [ring.firstNodeIndex(name, start, end)];
  return ring.getNodes(name.subarray(start, end), replication).map((node) => ring.nodes.indexOf(node));
}

export function splitByDestination(data: Buffer, ring: HashRing, replication: number): Map<number, Batch> {
  const parts = new PartsBuilder(data, ring.nodes.length);
  let pos = 0;
  // The next TAB at or after pos (data.length when none), searched again only once passed: the
  // name ends at the first blank, found with native searches rather than a byte loop.
  let nextTab = -1;
  while (pos < data.length) {
    let nl = data.indexOf(LF, pos);
    if (nl === -1) nl = data.length - 1;
    let nameStart = pos;
    while (nameStart < nl && (data[nameStart] === SPACE || data[nameStart] === TAB)) nameStart++;
    if (nextTab < nameStart) {
      nextTab = data.indexOf(TAB, nameStart);
      if (nextTab === -1) nextTab = data.length;
    }
    let nameEnd = data.indexOf(SPACE, nameStart);
    if (nameEnd === -1 || nameEnd > nl) nameEnd = nl;
    if (nextTab < nameEnd) nameEnd = nextTab;
    if (replication === 1) parts.line(ring.firstNodeIndex(data, nameStart, nameEnd), pos, nl + 1);
    else for (const node of nodeIndexes(ring, data, nameStart, nameEnd, replication)) parts.line(node, pos, nl + 1);
    pos = nl + 1;
  }
  return parts.parts();
}
