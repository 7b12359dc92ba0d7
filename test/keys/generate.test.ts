// API keys (src/keys/generate.ts): at least 128 bits from the CSPRNG, every bit position balanced.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKey } from '../../src/keys/generate.js';

test('keys are hex strings of at least 128 bits, all distinct, with every bit position balanced', () => {
  const n = 4000;
  const keys = Array.from({ length: n }, generateKey);
  for (const k of keys) assert.match(k, /^[0-9a-f]+$/);
  const bits = keys[0]!.length * 4;
  assert.ok(bits >= 128, `${bits} bits`);
  assert.ok(keys.every((k) => k.length === keys[0]!.length));
  assert.equal(new Set(keys).size, n);
  // Ones per bit position: a fair source gives n/2 with a standard deviation of sqrt(n)/2 (~32 here);
  // 300 away is over 9 deviations, so a stuck or biased bit fails and a fair one never does.
  const ones = new Array<number>(bits).fill(0);
  for (const k of keys) {
    const buf = Buffer.from(k, 'hex');
    for (let b = 0; b < bits; b++) if (buf[b >> 3]! & (0x80 >> (b & 7))) ones[b]!++;
  }
  for (let b = 0; b < bits; b++) assert.ok(Math.abs(ones[b]! - n / 2) < 300, `bit ${b}: ${ones[b]} ones in ${n} keys`);
});
