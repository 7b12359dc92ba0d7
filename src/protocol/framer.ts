// Per-connection line framing across chunk boundaries. Complete lines go through filterLines; the
// partial last line is carried to the next chunk. A line longer than maxLineBytes is dropped
// wherever it ends: inside one chunk (filterLines checks it), or as it streams across chunks (bytes
// skipped up to its LF), so a client that never sends "\n" cannot grow memory.
import { filterLines, type InvalidReason } from './lines.js';

export interface LineFramer {
  /** Feed one chunk; complete lines are validated and handed to `out` as (data, points). */
  push(chunk: Buffer): void;
  /** At connection end: a last line without "\n" is still delivered. */
  end(): void;
}

const LF = 0x0a;

export function createLineFramer(
  out: (data: Buffer, points: number) => void,
  opts: { maxLineBytes: number; onInvalid?: (line: Buffer, reason: InvalidReason) => void },
): LineFramer {
  let carry: Buffer | null = null;
  // True while skipping the rest of an over-long line.
  let skipping = false;

  const emit = (buf: Buffer, start: number, end: number): void => {
    const r = filterLines(buf, start, end, undefined, opts.onInvalid, opts.maxLineBytes);
    if (r.points > 0) out(r.data, r.points);
  };

  const tooLong = (line: Buffer): void => {
    opts.onInvalid?.(line.subarray(0, Math.min(line.length, 200)), 'too_long');
  };

  return {
    push(chunk) {
      let start = 0;
      if (skipping) {
        const nl = chunk.indexOf(LF);
        if (nl === -1) return;
        skipping = false;
        start = nl + 1;
      }
      const lastNl = chunk.lastIndexOf(LF);
      if (lastNl < start) {
        // No complete line in this chunk: extend the carry, within the limit.
        const rest = chunk.subarray(start);
        const carried = carry ? carry.length : 0;
        if (carried + rest.length > opts.maxLineBytes) {
          tooLong(carry ?? rest);
          carry = null;
          skipping = true;
        } else if (rest.length > 0) {
          carry = carry ? Buffer.concat([carry, rest]) : Buffer.from(rest);
        }
        return;
      }
      if (carry) {
        // Finish the carried line with the head of this chunk, then the rest in place.
        const firstNl = chunk.indexOf(LF, start);
        if (carry.length + (firstNl - start) > opts.maxLineBytes) tooLong(carry);
        else emit(Buffer.concat([carry, chunk.subarray(start, firstNl + 1)]), 0, carry.length + firstNl + 1 - start);
        carry = null;
        start = firstNl + 1;
      }
      if (start <= lastNl) emit(chunk, start, lastNl + 1);
      const tail = chunk.subarray(lastNl + 1);
      if (tail.length > opts.maxLineBytes) {
        tooLong(tail);
        skipping = true;
      } else if (tail.length > 0) {
        carry = Buffer.from(tail);
      }
    },
    end() {
      if (carry) emit(carry, 0, carry.length);
      carry = null;
      skipping = false;
    },
  };
}
