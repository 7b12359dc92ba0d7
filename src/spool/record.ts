// The spool's record codec. A v2 record is
//   [marker "\xF5PS" + version byte 2][u32 payload length][u32 points][u32 CRC-32][payload]
// little-endian, the CRC covering the marker, both header fields and the payload, so no flipped bit
// anywhere in a record goes unnoticed. A damaged record is skipped by resynchronising on the next
// marker whose record checks out; a record cut short at the end of a file (a torn tail, what a kill
// leaves in the middle of a write) is told apart from damage in the middle.
// v1 records (the previous format: [u32 length][u32 CRC of payload][u32 points][payload]) are still
// read; v1 has no marker, so a v1 file is read up to its first damage only.
import { crc32 } from 'node:zlib';

export const MARKER = Buffer.from([0xf5, 0x50, 0x53, 0x02]);
export const HEADER_BYTES = 16;
export const V1_HEADER_BYTES = 12;

function checksum(header: Buffer, payload: Buffer): number {
  return crc32(payload, crc32(header.subarray(0, 12)));
}

export function encodeHeader(payload: Buffer, points: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  MARKER.copy(header, 0);
  header.writeUInt32LE(payload.length, 4);
  header.writeUInt32LE(points, 8);
  header.writeUInt32LE(checksum(header, payload), 12);
  return header;
}

export interface DecodedRecord {
  /** Offset of the record's header in the buffer. */
  readonly start: number;
  /** Offset of the payload in the buffer. */
  readonly offset: number;
  readonly length: number;
  readonly points: number;
}

/** Bytes skipped while decoding: damage in the middle, or a record torn at the end. */
export interface Skipped {
  readonly offset: number;
  readonly bytes: number;
  readonly kind: 'damaged' | 'torn';
}

export interface Decoded {
  readonly version: 1 | 2;
  readonly records: DecodedRecord[];
  readonly skipped: Skipped[];
  /** Where the last intact record ends: what follows is a torn or damaged tail. */
  readonly validBytes: number;
}

/** The v2 record whose header starts at `pos`, when it is whole and checks out. */
function recordAt(buf: Buffer, pos: number): DecodedRecord | undefined {
  if (buf.length - pos < HEADER_BYTES || buf.compare(MARKER, 0, 4, pos, pos + 4) !== 0) return undefined;
  const length = buf.readUInt32LE(pos + 4);
  const offset = pos + HEADER_BYTES;
  if (length > buf.length - offset) return undefined;
  const header = buf.subarray(pos, offset);
  if (checksum(header, buf.subarray(offset, offset + length)) !== buf.readUInt32LE(pos + 12)) return undefined;
  return { start: pos, offset, length, points: buf.readUInt32LE(pos + 8) };
}

/** Whether the bytes from `pos` to the end look like the start of a record cut short. */
function tornAt(buf: Buffer, pos: number): boolean {
  const rest = buf.length - pos;
  if (rest < 4) return buf.compare(MARKER, 0, rest, pos, buf.length) === 0;
  if (buf.compare(MARKER, 0, 4, pos, pos + 4) !== 0) return false;
  return rest < HEADER_BYTES || buf.readUInt32LE(pos + 4) > rest - HEADER_BYTES;
}

function decodeV2(buf: Buffer): Decoded {
  const records: DecodedRecord[] = [];
  const skipped: Skipped[] = [];
  let pos = 0;
  let validBytes = 0;
  while (pos < buf.length) {
    const record = recordAt(buf, pos);
    if (record) {
      records.push(record);
      pos = validBytes = record.offset + record.length;
      continue;
    }
    // Resynchronise on the next marker whose record checks out.
    let next = buf.indexOf(MARKER, pos + 1);
    while (next !== -1 && !recordAt(buf, next)) next = buf.indexOf(MARKER, next + 1);
    if (next === -1) {
      skipped.push({ offset: pos, bytes: buf.length - pos, kind: tornAt(buf, pos) ? 'torn' : 'damaged' });
      break;
    }
    skipped.push({ offset: pos, bytes: next - pos, kind: 'damaged' });
    pos = next;
  }
  return { version: 2, records, skipped, validBytes };
}

function decodeV1(buf: Buffer): Decoded {
  const records: DecodedRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    const rest = buf.length - pos;
    const length = rest >= V1_HEADER_BYTES ? buf.readUInt32LE(pos) : 0;
    const offset = pos + V1_HEADER_BYTES;
    if (rest < V1_HEADER_BYTES || length > buf.length - offset) {
      return { version: 1, records, skipped: [{ offset: pos, bytes: rest, kind: 'torn' }], validBytes: pos };
    }
    if (crc32(buf.subarray(offset, offset + length)) !== buf.readUInt32LE(pos + 4)) {
      return { version: 1, records, skipped: [{ offset: pos, bytes: rest, kind: 'damaged' }], validBytes: pos };
    }
    records.push({ start: pos, offset, length, points: buf.readUInt32LE(pos + 8) });
    pos = offset + length;
  }
  return { version: 1, records, skipped: [], validBytes: pos };
}

/** Whether a segment starts with a v1 record (v2 segments start with the marker). */
function isV1(buf: Buffer): boolean {
  if (buf.length < V1_HEADER_BYTES || buf.compare(MARKER, 0, 4, 0, 4) === 0) return false;
  const length = buf.readUInt32LE(0);
  return length <= buf.length - V1_HEADER_BYTES && crc32(buf.subarray(V1_HEADER_BYTES, V1_HEADER_BYTES + length)) === buf.readUInt32LE(4);
}

/** Decodes a whole segment file, of either version. */
export function decodeRecords(buf: Buffer): Decoded {
  return isV1(buf) ? decodeV1(buf) : decodeV2(buf);
}
