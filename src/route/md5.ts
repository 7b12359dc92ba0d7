// carbon_ch's ring position of a key: the first 16 bits of its MD5, big-endian, straight over a
// range of a batch (no Buffer view, no hash object, nothing allocated). The native addon's MD5
// (native/md5/md5.c, built at install) where it is built, else the same in JavaScript: both several
// times cheaper than node:crypto's one-shot hash, which cost more than the rest of routing a point.
import { loadAddon } from '../native-addon.js';

/** The first 16 bits of MD5(data[start, end)), big-endian: carbon_ch's position of that key. */
export type Md5Prefix16 = (data: Buffer, start: number, end: number) => number;

// MD5's per-step constants (floor(|sin(i + 1)| * 2^32)) and rotations, RFC 1321.
const K = Int32Array.from({ length: 64 }, (_, i) => Math.floor(Math.abs(Math.sin(i + 1)) * 2 ** 32) | 0);
const ROUND_SHIFTS = [
  [7, 12, 17, 22],
  [5, 9, 14, 20],
  [4, 11, 16, 23],
  [6, 10, 15, 21],
];
const SHIFT = Int32Array.from({ length: 64 }, (_, i) => ROUND_SHIFTS[i >> 4]![i & 3]!);

/** The 16 message words of the block being hashed, and the state: reused, so hashing allocates nothing. */
const words = new Int32Array(16);
const state = new Int32Array(4);

function block(): void {
  let a = state[0]!;
  let b = state[1]!;
  let c = state[2]!;
  let d = state[3]!;
  for (let i = 0; i < 64; i++) {
    let f: number;
    let g: number;
    if (i < 16) {
      f = (b & c) | (~b & d);
      g = i;
    } else if (i < 32) {
      f = (d & b) | (~d & c);
      g = (5 * i + 1) & 15;
    } else if (i < 48) {
      f = b ^ c ^ d;
      g = (3 * i + 5) & 15;
    } else {
      f = c ^ (b | ~d);
      g = (7 * i) & 15;
    }
    const x = (a + f + K[i]! + words[g]!) | 0;
    const s = SHIFT[i]!;
    a = d;
    d = c;
    c = b;
    b = (b + ((x << s) | (x >>> (32 - s)))) | 0;
  }
  state[0] = (state[0]! + a) | 0;
  state[1] = (state[1]! + b) | 0;
  state[2] = (state[2]! + c) | 0;
  state[3] = (state[3]! + d) | 0;
}

/** MD5 in JavaScript: the fallback where the addon is not built. */
export const jsMd5Prefix16: Md5Prefix16 = (data, start, end) => {
  state[0] = 0x67452301;
  state[1] = 0xefcdab89 | 0;
  state[2] = 0x98badcfe | 0;
  state[3] = 0x10325476;
  let at = start;
  for (; at + 64 <= end; at += 64) {
    for (let w = 0; w < 16; w++) {
      const p = at + w * 4;
      words[w] = data[p]! | (data[p + 1]! << 8) | (data[p + 2]! << 16) | (data[p + 3]! << 24);
    }
    block();
  }
  // The tail, the 0x80 marker and the length in bits (little-endian, in the last two words): one
  // block, or two when the tail leaves no room for the length.
  words.fill(0);
  const tail = end - at;
  for (let i = 0; i < tail; i++) words[i >> 2]! |= data[at + i]! << ((i & 3) * 8);
  words[tail >> 2]! |= 0x80 << ((tail & 3) * 8);
  if (tail >= 56) {
    block();
    words.fill(0);
  }
  const length = end - start;
  words[14] = (length * 8) | 0;
  words[15] = Math.floor(length / 0x20000000);
  block();
  // The digest's first two bytes are the low two bytes of the first state word.
  return ((state[0]! & 0xff) << 8) | ((state[0]! >>> 8) & 0xff);
};

const native = loadAddon<{ ringPrefix16: Md5Prefix16 }>('md5/build/Release/polymur_md5.node');

/** The addon's MD5, when it is built. */
export const nativeMd5Prefix16: Md5Prefix16 | undefined = 'exports' in native ? native.exports.ringPrefix16 : undefined;

export const md5Prefix16: Md5Prefix16 = nativeMd5Prefix16 ?? jsMd5Prefix16;

/** Which MD5 hash-route uses, for the start-up log. */
export const md5Engine: string =
  'exports' in native ? 'MD5 by the native addon' : `MD5 in JavaScript (the native addon is not built: ${native.error}; npm run build:native builds it)`;
