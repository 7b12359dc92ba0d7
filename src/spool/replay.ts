// What an earlier run left in a spool directory, read once at start: every segment file decoded,
// its damaged records and torn tail logged, counted and (at the tail) cut off, the records the
// acknowledgement cursor covers left out, and files with nothing left to send deleted.
import { closeSync, ftruncateSync, openSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isDelivered, lastSeq, readCursor, type Cursor } from './cursor.js';
import { decodeRecords, type Decoded, type DecodedRecord, type Skipped } from './record.js';

const SEGMENT_NAME = /^(\d{12})\.seg$/;

export function segmentPath(dir: string, seq: number): string {
  return join(dir, `${String(seq).padStart(12, '0')}.seg`);
}

export interface LeftSegment {
  readonly seq: number;
  readonly path: string;
  /** The whole file as read (the records' payloads are in it). */
  readonly buf: Buffer;
  /** Where its last intact record ends. */
  readonly validBytes: number;
  /** Intact records not yet delivered, in file order. */
  readonly records: readonly DecodedRecord[];
}

export interface Leftover {
  /** The cursor the earlier run left, when it checks out. */
  readonly cursor: Cursor | undefined;
  readonly segments: readonly LeftSegment[];
  /** Intact records on disk that the cursor says were delivered. */
  readonly alreadyDelivered: number;
  /** The highest segment number in use (files or cursor): new segments are numbered after it. */
  readonly lastSeq: number;
}

/** Logs each skipped region, keeps what a v1 file has past its damage, and cuts a bad tail off. */
function reportSkipped(path: string, buf: Buffer, decoded: Decoded, log: (m: string) => void, onSkipped: (s: Skipped) => void): void {
  for (const s of decoded.skipped) {
    onSkipped(s);
    if (s.kind === 'torn') {
      log(`Spool segment ${path}: torn record at byte ${s.offset} of ${buf.length}; the ${s.bytes} bytes from there are skipped`);
    } else {
      const end = s.offset + s.bytes;
      log(
        `Spool segment ${path}: damaged record at byte ${s.offset} of ${buf.length}; ${s.bytes} bytes skipped, ${end < buf.length ? `reading on from the next intact record at byte ${end}` : 'to the end of the file'}`,
      );
    }
  }
  const tail = decoded.skipped.at(-1);
  if (!tail || tail.offset + tail.bytes !== buf.length) return;
  if (decoded.version === 1 && tail.kind === 'damaged') {
    // v1 records carry no marker to find the next intact one by: keep the rest for an operator.
    writeFileSync(`${path}.damaged`, buf.subarray(tail.offset), { mode: 0o600 });
    log(`Spool segment ${path}: a v1 segment cannot be read past damage; its last ${tail.bytes} bytes are kept in ${path}.damaged`);
  }
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, decoded.validBytes);
  } finally {
    closeSync(fd);
  }
}

export function readLeftover(dir: string, log: (m: string) => void, onSkipped: (s: Skipped) => void): Leftover {
  const found = readCursor(dir);
  if (found === 'damaged') log(`Spool ${dir}: the acknowledgement cursor does not check out; every record on disk is sent again`);
  const cursor = found === 'damaged' ? undefined : found;
  const existing = readdirSync(dir)
    .map((name) => SEGMENT_NAME.exec(name))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => Number(match[1]))
    .sort((a, b) => a - b);
  const segments: LeftSegment[] = [];
  let alreadyDelivered = 0;
  for (const seq of existing) {
    const path = segmentPath(dir, seq);
    if (cursor && seq < cursor.prefix.seq) {
      // Delivered before the last run ended (it was killed before deleting the file).
      unlinkSync(path);
      continue;
    }
    const buf = readFileSync(path);
    const decoded = decodeRecords(buf);
    reportSkipped(path, buf, decoded, log, onSkipped);
    const records = cursor ? decoded.records.filter((r) => !isDelivered(cursor, { seq, offset: r.start })) : decoded.records;
    alreadyDelivered += decoded.records.length - records.length;
    if (records.length === 0) {
      unlinkSync(path);
      continue;
    }
    segments.push({ seq, path, buf, validBytes: decoded.validBytes, records });
  }
  return { cursor, segments, alreadyDelivered, lastSeq: Math.max(existing.at(-1) ?? 0, cursor ? lastSeq(cursor) : 0) };
}
