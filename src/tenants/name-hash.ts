// The one per-point cost of tenants: a 32-bit hash of a metric name's bytes (FNV-1a, then
// murmur3's finaliser so that every bit is usable by the HyperLogLog), computed while the name's
// end is looked for, with no string made.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** murmur3's fmix32: spreads FNV-1a's weak low bits over the whole word. */
export function mixHash(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The hash of buf[start, end) (tests and tools; the gateway's pass hashes inline, see screen.ts). */
export function nameHash(buf: Buffer, start = 0, end = buf.length): number {
  let h = FNV_OFFSET;
  for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, FNV_PRIME);
  return mixHash(h);
}

export { FNV_OFFSET, FNV_PRIME };
