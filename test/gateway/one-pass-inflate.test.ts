// The gateway's one-pass inflate (gateway/body.ts inflateInOnePass) through ISA-L gives what node:zlib
// gives, case by case: the same bytes, or a refusal of the same kind (too large, or not gzip).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { isalGunzipInto } from '../../src/forward/gzip.js';
import { BodyTooLarge, inflateInOnePass } from '../../src/gateway/body.js';

const lines = (n: number, salt: string): Buffer =>
  Buffer.from(Array.from({ length: n }, (_, i) => `collectd.host-${i % 97}.cpu-${i % 7}.${salt} ${i * 1.5} ${1_700_000_000 + i}\n`).join(''));

const one = lines(5_000, 'a');
const small = lines(10, 'b');
const withTrailer = (gz: Buffer, isize: number): Buffer => {
  const copy = Buffer.from(gz);
  copy.writeUInt32LE(isize, copy.length - 4);
  return copy;
};
const hintOf = (gz: Buffer): number => gz.readUInt32LE(gz.length - 4);
const corrupt = (gz: Buffer, at: number): Buffer => {
  const copy = Buffer.from(gz);
  copy[at]! ^= 0xff;
  return copy;
};

const CAP = 1024 * 1024;
const cases: Array<[string, Buffer, number]> = [
  ['one member', gzipSync(one), CAP],
  ['two members (the hint, from the last, lies low)', Buffer.concat([gzipSync(one), gzipSync(small)]), CAP],
  ['two members at a cap that fits them exactly', Buffer.concat([gzipSync(one), gzipSync(small)]), one.length + small.length],
  ['a member followed by bytes that are not gzip', Buffer.concat([gzipSync(one), Buffer.from('trailing')]), CAP],
  ['a member followed by the start of another', Buffer.concat([gzipSync(one), Buffer.from([0x1f])]), CAP],
  ['a member followed by zero padding', Buffer.concat([gzipSync(one), Buffer.alloc(16)]), CAP],
  ['over the cap', gzipSync(one), one.length - 1],
  ['exactly the cap', gzipSync(one), one.length],
  ['a trailer that lies high', withTrailer(gzipSync(small), 900_000), CAP],
  ['a trailer that lies low', withTrailer(gzipSync(one), 10), CAP],
  ['a wrong CRC', corrupt(gzipSync(one), gzipSync(one).length - 6), CAP],
  ['cut short', gzipSync(one).subarray(0, 200), CAP],
  ['a broken deflate block', corrupt(gzipSync(one), 40), CAP],
  ['not gzip', Buffer.from('collectd.x 1 2\n'), CAP],
  ['empty', Buffer.alloc(0), CAP],
  ['a bomb', gzipSync(Buffer.alloc(20 * 1024 * 1024)), CAP],
];

type Result = { bytes: Buffer } | { refused: 'too large' | 'malformed' };
const run = (gunzipInto: NonNullable<typeof isalGunzipInto> | 'zlib', gz: Buffer, cap: number): Result => {
  try {
    return { bytes: Buffer.from(inflateInOnePass(gz, cap, gz.length >= 18 ? hintOf(gz) : 0, gunzipInto)) };
  } catch (err) {
    const tooLarge = err instanceof BodyTooLarge || (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE';
    return { refused: tooLarge ? 'too large' : 'malformed' };
  }
};

test('ISA-L is the engine here (the addon is built by npm ci where libisal-dev is installed)', () => {
  assert.ok(isalGunzipInto, 'native/build/Release/isal_gzip.node exports gunzipInto');
});

test('ISA-L and node:zlib agree on every case', () => {
  for (const [name, gz, cap] of cases) {
    const viaZlib = run('zlib', gz, cap);
    const viaIsal = run(isalGunzipInto!, gz, cap);
    assert.deepEqual(viaIsal, viaZlib, name);
  }
  // The table covers each outcome.
  const outcome = (r: Result): string => ('bytes' in r ? 'inflated' : r.refused);
  const seen = new Set(cases.map(([, gz, cap]) => outcome(run(isalGunzipInto!, gz, cap))));
  assert.deepEqual([...seen].sort(), ['inflated', 'malformed', 'too large']);
});
