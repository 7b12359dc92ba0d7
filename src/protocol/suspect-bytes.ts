// Where the next byte is that keeps a line off the validation fast path: a tab, a control byte,
// DEL, `/`, or the lead byte of a Unicode space. Found with native searches (memchr) over the
// whole buffer, one per byte value, each searched again only once passed — so a line pays one
// comparison, and a buffer of clean lines a few native scans, instead of a JavaScript loop over
// every name byte (which halved validation throughput).
import { isAscii, isUtf8 } from 'node:buffer';

const indexOf = Buffer.prototype.indexOf;

/** Bytes below 0x20 but LF (a line's end), then DEL and `/`: each makes a name invalid or a line unusual. */
const ASCII_SUSPECTS: readonly number[] = [...Array.from({ length: 0x20 }, (_, c) => c).filter((c) => c !== 0x0a), 0x7f, 0x2f];
/** The lead bytes of the UTF-8 forms of the Unicode spaces Python's str.split() splits on (U+0085 to U+3000). */
const UTF8_SUSPECTS: readonly number[] = [...ASCII_SUSPECTS, 0xc2, 0xe1, 0xe2, 0xe3];

export interface SuspectBytes {
  /** The position of the first suspect byte at or after pos (end when none). */
  next(pos: number): number;
}

/**
 * The suspects of buf[start, end). A range that is not valid UTF-8 is suspect everywhere: its
 * lines are all read in full, which is where invalid UTF-8 is told from valid.
 */
export function findSuspectBytes(buf: Buffer, start: number, end: number): SuspectBytes {
  const range = buf.subarray(start, end);
  const ascii = isAscii(range);
  if (!ascii && !isUtf8(range)) return { next: (pos) => pos };
  const values = ascii ? ASCII_SUSPECTS : UTF8_SUSPECTS;
  const at = new Float64Array(values.length).fill(-1);
  let nearest = -1;
  return {
    next(pos) {
      if (nearest >= pos) return nearest;
      nearest = end;
      for (let v = 0; v < values.length; v++) {
        if (at[v]! < pos) {
          const found = indexOf.call(buf, values[v]!, pos);
          at[v] = found === -1 || found > end ? end : found;
        }
        if (at[v]! < nearest) nearest = at[v]!;
      }
      return nearest;
    },
  };
}
