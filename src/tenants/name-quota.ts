// A key's ceiling on distinct metric names per hour (-max-names), exact: the hashes of the names
// seen this hour and the hour before (name-hash.ts; 30 bits kept, so V8 stores them unboxed). A
// name seen in either passes, so a key's known names keep flowing across the hour boundary even
// when a flood of new names arrives first; a new name passes while fewer than maxNames names were
// seen this hour. Each hour's set holds at most 2 x maxNames hashes (new names up to maxNames, the
// previous hour's names carried over up to the rest), so the memory is bounded by 4 x maxNames
// numbers (about 4 x 20 B each in a V8 Set).

export const NAME_WINDOW_MS = 60 * 60_000;

export interface NameQuota {
  readonly maxNames: number;
  /** Moves to the hour of `nowMs` (once per batch, before admit). */
  roll(nowMs: number): void;
  /** Whether the name with this hash may be written; a new name admitted is remembered. */
  admit(hash: number): boolean;
  /** Names seen in the current hour. */
  size(): number;
}

export function createNameQuota(maxNames: number): NameQuota {
  let hour = -1;
  let current = new Set<number>();
  let previous = new Set<number>();
  const hardCap = 2 * maxNames;
  return {
    maxNames,
    roll(nowMs) {
      const h = Math.floor(nowMs / NAME_WINDOW_MS);
      if (h === hour) return;
      // An hour with no batch in between leaves nothing to carry over.
      previous = h === hour + 1 ? current : new Set();
      current = new Set();
      hour = h;
    },
    admit(hash) {
      const key = hash >>> 2;
      if (current.has(key)) return true;
      if (previous.has(key) ? current.size < hardCap : current.size < maxNames) {
        current.add(key);
        return true;
      }
      return false;
    },
    size: () => current.size,
  };
}
