// A spool record: [u32 payload length][u32 CRC-32 of payload][u32 points][payload], little-endian.
// A record cut short by a crash (a torn tail) or damaged on disk is detected by its length or CRC.
import { crc32 } from 'node:zlib';

export const HEADER_BYTES = 12;

export function encodeHeader(payload: Buffer, points: number): Buffer {
  const header = Buffer.allocUnsafe(HEADER_BYTES);
  header.writeUInt32LE(payload.length, 0);
  header.writeUInt32LE(crc32(payload), 4);
  header.writeUInt32LE(points, 8);
  return header;
}

export interface DecodedRecord {
  /** Offset of the payload in the buffer. */
  readonly offset: number;
  readonly length: number;
  readonly points: number;
}

export interface Decoded {
  readonly records: DecodedRecord[];
  /** Bytes that hold whole, intact records; what follows is damaged or torn. */
  readonly validBytes: number;
  /** Why decoding stopped before the end, if it did. */
  readonly damage?: 'torn' | 'checksum';
}

export function decodeRecords(buf: Buffer): Decoded {
  const records: DecodedRecord[] = [];
  let pos = 0;
  while (pos < buf.length) {
    if (buf.length - pos < HEADER_BYTES) return { records, validBytes: pos, damage: 'torn' };
    const length = buf.readUInt32LE(pos);
    const crc = buf.readUInt32LE(pos + 4);
    const points = buf.readUInt32LE(pos + 8);
    const offset = pos + HEADER_BYTES;
    if (offset + length > buf.length) return { records, validBytes: pos, damage: 'torn' };
    if (crc32(buf.subarray(offset, offset + length)) !== crc) return { records, validBytes: pos, damage: 'checksum' };
    records.push({ offset, length, points });
    pos = offset + length;
  }
  return { records, validBytes: pos };
}
