// Lines longer than the limit are cut out of a decompressed batch before validation, so one huge
// "metric name" cannot reach a destination. The scan jumps a whole limit ahead at a time (one
// lastIndexOf per maxLineBytes, not one call per line) and copies only when something is cut.

const LF = 0x0a;

/** The body without its over-long lines (the same Buffer when there are none). */
export function dropLongLines(body: Buffer, maxLineBytes: number, onTooLong: (head: Buffer) => void): Buffer {
  let kept: Buffer[] | undefined;
  let keptFrom = 0;
  let start = 0;
  while (body.length - start > maxLineBytes) {
    // A line of at most maxLineBytes starting here has its LF within the next maxLineBytes + 1 bytes.
    const nl = body.lastIndexOf(LF, start + maxLineBytes);
    if (nl >= start) {
      start = nl + 1;
      continue;
    }
    const lf = body.indexOf(LF, start + maxLineBytes);
    const end = lf === -1 ? body.length : lf + 1;
    onTooLong(body.subarray(start, start + 200));
    (kept ??= []).push(body.subarray(keptFrom, start));
    keptFrom = end;
    start = end;
  }
  if (!kept) return body;
  kept.push(body.subarray(keptFrom));
  return Buffer.concat(kept);
}
