// The spool's record codec on tables of cases: every byte of a record is under the checksum, a
// damaged record is skipped by resynchronising on the next intact one, a torn tail is told apart
// from damage, and segments of the previous format (v1) are still read.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32 } from 'node:zlib';
import { decodeRecords, encodeHeader, HEADER_BYTES, MARKER } from '../../src/spool/record.js';
import { flipBits } from '../helpers/bytes.js';

function record(text: string, points: number): Buffer {
  const payload = Buffer.from(text, 'latin1');
  return Buffer.concat([encodeHeader(payload, points), payload]);
}

/** A record of the previous format: [u32 length][u32 CRC of payload][u32 points][payload]. */
function recordV1(text: string, points: number): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(12);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  header.writeUInt32LE(points, 8);
  return Buffer.concat([header, payload]);
}

const A = record('a.b 1 1700000000\n', 1);
const B = record('c.d 2 1700000000\ne.f 3 1700000000\n', 2);
const C = record('g.h 4 1700000000\n', 1);
const SEGMENT = Buffer.concat([A, B, C]);

function payloads(buf: Buffer): string[] {
  return decodeRecords(buf).records.map((r) => buf.subarray(r.offset, r.offset + r.length).toString());
}

function flipped(buf: Buffer, at: number): Buffer {
  const copy = Buffer.from(buf);
  flipBits(copy, at, 0x40);
  return copy;
}

test('a flipped byte anywhere in a record (marker, length, points, CRC or payload) loses that record only', () => {
  const fields: Array<[string, number]> = [
    ['marker', 1],
    ['version byte', 3],
    ['length', 5],
    ['points', 9],
    ['checksum', 13],
    ['first payload byte', HEADER_BYTES],
    ['last payload byte', B.length - 1],
  ];
  for (const [field, at] of fields) {
    const buf = flipped(SEGMENT, A.length + at);
    const decoded = decodeRecords(buf);
    assert.deepEqual(payloads(buf), ['a.b 1 1700000000\n', 'g.h 4 1700000000\n'], field);
    assert.deepEqual(decoded.skipped, [{ offset: A.length, bytes: B.length, kind: 'damaged' }], field);
    assert.deepEqual(
      decoded.records.map((r) => r.points),
      [1, 1],
      field,
    );
    assert.equal(decoded.validBytes, SEGMENT.length, field);
  }
});

test('torn tails and damaged tails are told apart; intact records before them are kept', () => {
  const cases: Array<[string, Buffer, number, 'torn' | 'damaged']> = [
    ['part of a marker', Buffer.concat([A, B, C.subarray(0, 2)]), 2, 'torn'],
    ['part of a header', Buffer.concat([A, B, C.subarray(0, 10)]), 10, 'torn'],
    ['a header and part of the payload', Buffer.concat([A, B, C.subarray(0, C.length - 3)]), C.length - 3, 'torn'],
    ['zeros (a page allocated, never written)', Buffer.concat([A, B, Buffer.alloc(100)]), 100, 'damaged'],
    ['a whole record with a flipped payload byte', Buffer.concat([A, B, flipped(C, C.length - 2)]), C.length, 'damaged'],
  ];
  for (const [name, buf, tail, kind] of cases) {
    const decoded = decodeRecords(buf);
    assert.equal(decoded.records.length, 2, name);
    assert.equal(decoded.validBytes, A.length + B.length, name);
    assert.deepEqual(decoded.skipped, [{ offset: A.length + B.length, bytes: tail, kind }], name);
  }
});

test('resynchronising: garbage between records, several damaged records, a marker inside a payload', () => {
  const garbage = Buffer.concat([Buffer.from('not a record at all, '), MARKER, Buffer.from(' even with a marker in it')]);
  const markerInPayload = record(`x.y 1 1700000000\n${MARKER.toString('latin1')}`, 1);
  const cases: Array<[string, Buffer, string[], number[]]> = [
    ['garbage before the first record', Buffer.concat([garbage, A, B]), ['a.b 1 1700000000\n', B.subarray(HEADER_BYTES).toString()], [garbage.length]],
    ['garbage between records', Buffer.concat([A, garbage, C]), ['a.b 1 1700000000\n', 'g.h 4 1700000000\n'], [garbage.length]],
    ['two damaged records apart', Buffer.concat([flipped(A, 20), B, flipped(C, 5), A]), [B.subarray(HEADER_BYTES).toString(), 'a.b 1 1700000000\n'], [A.length, C.length]],
    [
      'a marker inside a payload is not a record',
      Buffer.concat([A, markerInPayload, C]),
      ['a.b 1 1700000000\n', markerInPayload.subarray(HEADER_BYTES).toString(), 'g.h 4 1700000000\n'],
      [],
    ],
    ['empty', Buffer.alloc(0), [], []],
  ];
  for (const [name, buf, expected, skipped] of cases) {
    assert.deepEqual(payloads(buf), expected, name);
    assert.deepEqual(
      decodeRecords(buf).skipped.map((s) => s.bytes),
      skipped,
      name,
    );
  }
});

test('a flipped point count is caught, not believed', () => {
  // The previous format left the count outside the checksum: one flip read as 2130755932 points.
  const buf = Buffer.from(A);
  buf.writeUInt32LE(2130755932, 8);
  const decoded = decodeRecords(buf);
  assert.deepEqual(decoded.records, []);
  assert.deepEqual(decoded.skipped, [{ offset: 0, bytes: A.length, kind: 'damaged' }]);
});

test('v1 segments (the previous format) are read; at damage, reading stops (v1 has no marker)', () => {
  const v1 = Buffer.concat([recordV1('a.b 1 1700000000\n', 1), recordV1('c.d 2 1700000000\n', 1), recordV1('e.f 3 1700000000\n', 1)]);
  const cases: Array<[string, Buffer, number, Array<{ kind: string; bytes: number }>]> = [
    ['intact', v1, 3, []],
    ['torn tail', v1.subarray(0, v1.length - 4), 2, [{ kind: 'torn', bytes: 29 - 4 }]],
    ['damaged second record', flipped(v1, 29 + 14), 1, [{ kind: 'damaged', bytes: 58 }]],
  ];
  for (const [name, buf, count, skipped] of cases) {
    const decoded = decodeRecords(buf);
    assert.equal(decoded.version, 1, name);
    assert.equal(decoded.records.length, count, name);
    assert.deepEqual(
      decoded.records.map((r) => r.offset - r.start),
      Array(count).fill(12),
      name,
    );
    assert.deepEqual(
      decoded.skipped.map((s) => ({ kind: s.kind, bytes: s.bytes })),
      skipped,
      name,
    );
  }
  assert.equal(decodeRecords(SEGMENT).version, 2);
});
