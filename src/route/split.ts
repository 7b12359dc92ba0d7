// hash-route's hot path: one pass over a batch, each line placed by its metric name and written
// into its destination's part (PartsBuilder). A layer above (the rule files) can hand the router
// its own pass (SplitLines) that renames and drops lines as it places them, into the same kind of
// parts: one pass over the batch, whatever the rules do.
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

/** A scratch buffer bigger than this is let go after a batch (one outsized batch does not pin its size). */
const SCRATCH_KEEP_BYTES = 1024 * 1024;
const EMPTY: Buffer = Buffer.alloc(0);

/**
 * One part as it is written: its bytes so far in a scratch buffer kept from batch to batch, and
 * the run of the batch's lines not copied there yet (a part that stays one run is a view).
 */
class PartWriter {
  buf: Buffer = EMPTY;
  at = 0;
  points = 0;
  runStart = -1;
  runEnd = -1;

  /** src[start, end) at the end: a name or the end of a line byte by byte, longer runs with set() on a plain Uint8Array view (the view costs what a loop over some 40 bytes does, Buffer#copy twice that). */
  write(src: Buffer, start: number, end: number): void {
    const n = end - start;
    if (this.at + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.at + n, 64 * 1024));
      bigger.set(new Uint8Array(this.buf.buffer, this.buf.byteOffset, this.at));
      this.buf = bigger;
    }
    const b = this.buf;
    let at = this.at;
    if (n < SHORT_RANGE) for (let i = start; i < end; i++) b[at++] = src[i]!;
    else {
      b.set(new Uint8Array(src.buffer, src.byteOffset + start, n), at);
      at += n;
    }
    this.at = at;
  }
}

/**
 * The parts of one batch, written as its lines are placed, each part in its own scratch buffer
 * while the bytes are at hand (the cached names a rule pass writes are scattered over the heap:
 * read again in a second pass, most would be cache misses), then copied out once at its exact
 * size. Runs of consecutive lines of the batch are copied as one. A part that is one run of the
 * batch is a view of it, the whole batch the batch itself. Used for one batch at a time,
 * synchronously (start ... parts()), and reused for the next.
 */
export class PartsBuilder {
  private readonly writers: PartWriter[] = [];
  private data: Buffer = EMPTY;
  private nodes = 0;

  /** A new batch, to be split over `nodes` parts. */
  start(data: Buffer, nodes: number): this {
    this.data = data;
    this.nodes = nodes;
    while (this.writers.length < nodes) this.writers.push(new PartWriter());
    for (let i = 0; i < nodes; i++) {
      const w = this.writers[i]!;
      w.at = 0;
      w.points = 0;
      w.runStart = w.runEnd = -1;
    }
    return this;
  }

  /** The line data[start, end) at the end of `node`'s part. */
  line(node: number, start: number, end: number): void {
    const w = this.writers[node]!;
    if (w.runEnd === start) w.runEnd = end;
    else {
      if (w.runEnd >= 0) w.write(this.data, w.runStart, w.runEnd);
      w.runStart = start;
      w.runEnd = end;
    }
    w.points++;
  }

  /** A line made of head[headStart, headEnd) (a new name, a prefixed one) then data[start, end) (the rest of the line), at the end of `node`'s part. */
  lineAfter(node: number, head: Buffer, headStart: number, headEnd: number, start: number, end: number): void {
    const w = this.writers[node]!;
    if (w.runEnd >= 0) w.write(this.data, w.runStart, w.runEnd);
    w.write(head, headStart, headEnd);
    w.runStart = start;
    w.runEnd = end;
    w.points++;
  }

  /** The line data[start, end) as it came, or, when head[headStart, headEnd) is not empty, that head then data[restStart, end). */
  lineTo(node: number, head: Buffer, headStart: number, headEnd: number, start: number, restStart: number, end: number): void {
    if (headEnd > headStart) this.lineAfter(node, head, headStart, headEnd, restStart, end);
    else this.line(node, start, end);
  }

  /** The parts, by node; the scratch is free for the next batch. */
  parts(): Map<number, Batch> {
    const { data } = this;
    const out = new Map<number, Batch>();
    for (let node = 0; node < this.nodes; node++) {
      const w = this.writers[node]!;
      if (w.points === 0) continue;
      let part: Buffer;
      if (w.at === 0) part = w.runStart === 0 && w.runEnd === data.length ? data : data.subarray(w.runStart, w.runEnd);
      else {
        w.write(data, w.runStart, w.runEnd);
        part = Buffer.allocUnsafe(w.at);
        part.set(new Uint8Array(w.buf.buffer, w.buf.byteOffset, w.at));
        if (w.buf.length > SCRATCH_KEEP_BYTES) w.buf = EMPTY;
      }
      out.set(node, { data: part, points: w.points });
    }
    this.data = EMPTY;
    return out;
  }
}

/** Indexes (in `ring.nodes` order) of the `replication` nodes of the name name[start, end). */
export function nodeIndexes(ring: HashRing, name: Buffer, start: number, end: number, replication: number): readonly number[] {
  return replication === 1 ? [ring.firstNodeIndex(name, start, end)] : ring.nodeIndexes(name, start, end, replication);
}

/** splitByDestination's scratch: it runs start to end synchronously, so one serves every call. */
const scratch = new PartsBuilder();

export function splitByDestination(data: Buffer, ring: HashRing, replication: number): Map<number, Batch> {
  const parts = scratch.start(data, ring.nodes.length);
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
    else for (const node of ring.nodeIndexes(data, nameStart, nameEnd, replication)) parts.line(node, pos, nl + 1);
    pos = nl + 1;
  }
  return parts.parts();
}
