// Distinct metric names a key sent in the last hour, estimated in fixed memory: a HyperLogLog
// (2^9 = 512 one-byte registers, standard error 1.04/sqrt(512) = 4.6 %) per quarter of an hour,
// the current quarter and the four before it, so the estimate covers the last 60 to 75 minutes.
// 5 x 512 B = 2.5 KiB per tracked key, whatever it sends.

export const SKETCH_PRECISION = 9;
const REGISTERS = 1 << SKETCH_PRECISION;
const RANK_BITS = 32 - SKETCH_PRECISION;
export const SKETCH_WINDOW_MS = 15 * 60_000;
/** The current window and the four before it. */
export const SKETCH_WINDOWS = 5;
/** Bytes of registers per sketch (what the README gives as the cost of a tracked key's names). */
export const SKETCH_BYTES = REGISTERS * SKETCH_WINDOWS;

const ALPHA = 0.7213 / (1 + 1.079 / REGISTERS);

export interface NameSketch {
  /** Moves to the window of `nowMs` (once per batch, before add). */
  roll(nowMs: number): void;
  /** Adds one name by its hash (name-hash.ts). */
  add(hash: number): void;
  /** The current window's registers, for a loop that adds many names inline (addTo). */
  current(): Uint8Array;
  /** Distinct names over the windows still in range at `nowMs`. */
  estimate(nowMs: number): number;
}

/** Adds a name's hash to a window's registers. */
export function addTo(registers: Uint8Array, hash: number): void {
  const index = hash >>> RANK_BITS;
  const rest = (hash << SKETCH_PRECISION) >>> 0;
  const rank = rest === 0 ? RANK_BITS + 1 : Math.clz32(rest) + 1;
  if (rank > registers[index]!) registers[index] = rank;
}

export function createNameSketch(): NameSketch {
  const registers = new Uint8Array(SKETCH_BYTES);
  // The window number each slot holds; -1: none yet.
  const windowOf = new Float64Array(SKETCH_WINDOWS).fill(-1);
  let current = registers.subarray(0, REGISTERS);

  const slotFor = (window: number): number => window % SKETCH_WINDOWS;

  return {
    roll(nowMs) {
      const window = Math.floor(nowMs / SKETCH_WINDOW_MS);
      const slot = slotFor(window);
      if (windowOf[slot] !== window) {
        // A slot is reused only for a window at least SKETCH_WINDOWS later: what it held is out of range.
        registers.fill(0, slot * REGISTERS, (slot + 1) * REGISTERS);
        windowOf[slot] = window;
      }
      current = registers.subarray(slot * REGISTERS, (slot + 1) * REGISTERS);
    },
    add: (hash) => addTo(current, hash),
    current: () => current,
    estimate(nowMs) {
      const window = Math.floor(nowMs / SKETCH_WINDOW_MS);
      const merged = new Uint8Array(REGISTERS);
      for (let slot = 0; slot < SKETCH_WINDOWS; slot++) {
        const w = windowOf[slot]!;
        if (w < 0 || w > window || window - w >= SKETCH_WINDOWS) continue;
        for (let i = 0; i < REGISTERS; i++) merged[i] = Math.max(merged[i]!, registers[slot * REGISTERS + i]!);
      }
      let sum = 0;
      let zeros = 0;
      for (let i = 0; i < REGISTERS; i++) {
        sum += 2 ** -merged[i]!;
        if (merged[i] === 0) zeros++;
      }
      const raw = (ALPHA * REGISTERS * REGISTERS) / sum;
      // Small cardinalities: linear counting is the better estimate (Flajolet et al.).
      if (raw <= 2.5 * REGISTERS && zeros > 0) return Math.round(REGISTERS * Math.log(REGISTERS / zeros));
      return Math.round(raw);
    },
  };
}
