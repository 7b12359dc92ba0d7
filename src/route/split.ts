// hash-route's hot path: one pass over a batch, each line placed by its metric name, consecutive
// lines for the same destination kept as one byte range, then one copy per destination.
import type { Batch } from '../batch/batch.js';
import type { HashRing } from './hash-ring.js';

const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;

/** Ranges [start, end, start, end, ...] and a point count, per ring node index. */
interface Ranges {
  readonly bounds: number[];
  points: number;
  bytes: number;
}

function addRange(r: Ranges, start: number, end: number): void {
  const b = r.bounds;
  if (b.length > 0 && b[b.length - 1] === start) b[b.length - 1] = end;
  else b.push(start, end);
  r.points++;
  r.bytes += end - start;
}

export function splitByDestination(data: Buffer, ring: HashRing, replication: number): Map<number, Batch> {
  const byNode = new Map<number, Ranges>();
  const nodeIndex = new Map(ring.nodes.map((n, i) => [n, i]));
  const rangesOf = (i: number): Ranges => {
    let r = byNode.get(i);
    if (!r) {
      r = { bounds: [], points: 0, bytes: 0 };
      byNode.set(i, r);
    }
    return r;
  };
  let pos = 0;
  while (pos < data.length) {
    let nl = data.indexOf(LF, pos);
    if (nl === -1) nl = data.length - 1;
    let nameStart = pos;
    while (nameStart < nl && (data[nameStart] === SPACE || data[nameStart] === TAB)) nameStart++;
    let nameEnd = nameStart;
    while (nameEnd < nl && data[nameEnd] !== SPACE && data[nameEnd] !== TAB) nameEnd++;
    const name = data.subarray(nameStart, nameEnd);
    if (replication === 1) {
      addRange(rangesOf(ring.firstNodeIndex(name)), pos, nl + 1);
    } else {
      for (const node of ring.getNodes(name, replication)) addRange(rangesOf(nodeIndex.get(node)!), pos, nl + 1);
    }
    pos = nl + 1;
  }
  const out = new Map<number, Batch>();
  for (const [i, r] of byNode) {
    let part: Buffer;
    if (r.bounds.length === 2) part = data.subarray(r.bounds[0], r.bounds[1]);
    else {
      part = Buffer.allocUnsafe(r.bytes);
      let at = 0;
      for (let k = 0; k < r.bounds.length; k += 2) at += data.copy(part, at, r.bounds[k], r.bounds[k + 1]);
    }
    out.set(i, { data: part, points: r.points });
  }
  return out;
}
