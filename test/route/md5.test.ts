// carbon_ch's ring position is the first 16 bits of a key's MD5. Our two MD5s (the native addon's,
// native/md5/md5.c, built by `npm ci`; and the JavaScript one it falls back to) must give node:crypto's
// digest on every input: empty, one byte, each length around MD5's 64-byte blocks and the 56-byte
// padding edge, long keys, non-ASCII names (carbon hashes their UTF-8 bytes), every byte value, and
// a name in the middle of a batch (start, end).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hash, randomBytes } from 'node:crypto';
import { jsMd5Prefix16, md5Engine, md5Prefix16, nativeMd5Prefix16, type Md5Prefix16 } from '../../src/route/md5.js';

const prefix16 = (data: Buffer): number => {
  const digest = hash('md5', data, 'buffer');
  return (digest[0]! << 8) | digest[1]!;
};

const INPUTS: ReadonlyArray<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['one byte', Buffer.from('x')],
  ...Array.from({ length: 200 }, (_, n): [string, Buffer] => [`${n} bytes`, Buffer.from(Array.from({ length: n }, (_, i) => (i * 37 + n) & 0xff))]),
  ['a metric name', Buffer.from('collectd.host-042.cpu-3.cpu-idle')],
  ['a carbon replica key', Buffer.from("('127.0.0.1', 'a'):17")],
  ['a non-ASCII name (UTF-8)', Buffer.from('ünïcode.métrique.1')],
  ['a Cyrillic name (UTF-8)', Buffer.from('служба.нагрузка.сервер-1')],
  ['an emoji name (UTF-8)', Buffer.from('app.📈.latency')],
  ['every byte value', Buffer.from(Array.from({ length: 256 }, (_, i) => i))],
  ['a long name (4 KiB)', Buffer.from('a.'.repeat(2048))],
  ['1 MiB of random bytes', randomBytes(1 << 20)],
];

const engines: Array<[string, Md5Prefix16]> = [
  ['native', nativeMd5Prefix16!],
  ['JavaScript', jsMd5Prefix16],
];

test('the MD5 addon is built and is what hash-route uses', () => {
  assert.ok(nativeMd5Prefix16, `MD5 addon not loaded: ${md5Engine}`);
  assert.equal(md5Prefix16, nativeMd5Prefix16);
  assert.equal(md5Engine, 'MD5 by the native addon');
});

for (const [engine, md5] of engines) {
  test(`${engine} MD5: the first 16 bits of node:crypto's digest, for every input`, () => {
    const wrong = INPUTS.filter(([, data]) => md5(data, 0, data.length) !== prefix16(data)).map(([label]) => label);
    assert.deepEqual(wrong, []);
  });

  test(`${engine} MD5: a range of a larger buffer hashes as that range alone`, () => {
    const batch = Buffer.from('foo.bar 1 1700000000\nünïcode.métrique.1 2 1700000000\n' + 'x'.repeat(300) + ' 3 1700000000\n');
    const lines = batch.toString('utf8').split('\n').slice(0, -1);
    let start = 0;
    for (const line of lines) {
      const name = Buffer.from(line.split(' ')[0]!);
      assert.equal(md5(batch, start, start + name.length), prefix16(name), line.slice(0, 40));
      start += Buffer.byteLength(line) + 1;
    }
    assert.equal(md5(batch, 5, 5), prefix16(Buffer.alloc(0)), 'an empty range');
  });
}

test('native MD5 refuses ranges outside the buffer and arguments that are not a Buffer and two offsets', () => {
  const md5 = nativeMd5Prefix16!;
  const data = Buffer.from('abc');
  assert.throws(() => md5(data, 0, 4), RangeError);
  assert.throws(() => md5(data, 2, 1), RangeError);
  assert.throws(() => (md5 as unknown as (s: string, a: number, b: number) => number)('abc', 0, 1), TypeError);
  assert.throws(() => (md5 as unknown as (b: Buffer) => number)(data), TypeError);
});
