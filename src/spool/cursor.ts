// The spool's durable acknowledgement cursor: where the longest delivered prefix of the spool ends,
// plus the runs of records delivered beyond it (several forwarder workers acknowledge out of
// order, and one batch retried in backoff must not hold back everything delivered after it).
// Records it covers are not sent again after a restart. It is one small file rewritten in place
// by one positional write whenever acknowledgements arrive (one write at a time, what arrives
// meanwhile coalesced into the next), so a kill -9 resends at most the batches in flight and those
// acknowledged during the last write. A cursor that does not check out (a torn write after a power
// loss) is ignored: the spool then resends, and never loses.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export interface Position {
  readonly seq: number;
  /** A byte offset in segment `seq`. */
  readonly offset: number;
}

/** Records whose header starts in [from, to) (in spool order: segment, then offset) are delivered. */
export interface DeliveredRun {
  readonly from: Position;
  readonly to: Position;
}

export interface Cursor {
  /** Every record that starts before this position is delivered. */
  readonly prefix: Position;
  readonly runs: readonly DeliveredRun[];
}

/** Runs kept beyond the prefix at most; more are simply sent again after a restart. */
export const MAX_RUNS = 256;

const MAGIC = Buffer.from('PMRC');
const FIXED_BYTES = 24;
const RUN_BYTES = 24;

export function cursorPath(dir: string): string {
  return join(dir, 'ack.cursor');
}

/** Whether `a` comes before `b` in spool order. */
export const before = (a: Position, b: Position): boolean => a.seq < b.seq || (a.seq === b.seq && a.offset < b.offset);

/** Whether the record whose header starts at `at` is delivered according to `cursor`. */
export function isDelivered(cursor: Cursor, at: Position): boolean {
  return before(at, cursor.prefix) || cursor.runs.some((r) => !before(at, r.from) && before(at, r.to));
}

/** The highest segment a cursor names. */
export function lastSeq(cursor: Cursor): number {
  return cursor.runs.reduce((max, r) => Math.max(max, r.to.seq), cursor.prefix.seq);
}

export function encodeCursor(cursor: Cursor): Buffer {
  const runs = cursor.runs.slice(0, MAX_RUNS);
  const buf = Buffer.alloc(FIXED_BYTES + RUN_BYTES * runs.length);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(runs.length, 4);
  buf.writeUInt32LE(cursor.prefix.seq, 8);
  buf.writeDoubleLE(cursor.prefix.offset, 12);
  runs.forEach((r, i) => {
    const at = 20 + i * RUN_BYTES;
    buf.writeUInt32LE(r.from.seq, at);
    buf.writeDoubleLE(r.from.offset, at + 4);
    buf.writeUInt32LE(r.to.seq, at + 12);
    buf.writeDoubleLE(r.to.offset, at + 16);
  });
  const end = buf.length - 4;
  buf.writeUInt32LE(crc32(buf.subarray(0, end)), end);
  return buf;
}

export function decodeCursor(buf: Buffer): Cursor | undefined {
  if (buf.length < FIXED_BYTES || buf.compare(MAGIC, 0, 4, 0, 4) !== 0) return undefined;
  const count = buf.readUInt32LE(4);
  if (count > MAX_RUNS || buf.length < FIXED_BYTES + RUN_BYTES * count) return undefined;
  const end = FIXED_BYTES + RUN_BYTES * count - 4;
  if (crc32(buf.subarray(0, end)) !== buf.readUInt32LE(end)) return undefined;
  const runs: DeliveredRun[] = [];
  for (let i = 0; i < count; i++) {
    const at = 20 + i * RUN_BYTES;
    runs.push({
      from: { seq: buf.readUInt32LE(at), offset: buf.readDoubleLE(at + 4) },
      to: { seq: buf.readUInt32LE(at + 12), offset: buf.readDoubleLE(at + 16) },
    });
  }
  return { prefix: { seq: buf.readUInt32LE(8), offset: buf.readDoubleLE(12) }, runs };
}

/** The cursor an earlier run left; undefined when there is none, 'damaged' when it does not check out. */
export function readCursor(dir: string): Cursor | 'damaged' | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(cursorPath(dir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return decodeCursor(buf) ?? 'damaged';
}

/** Opens the cursor file for rewriting in place: never truncated, so a kill between open and write leaves the old cursor. */
async function openInPlace(path: string): Promise<FileHandle> {
  try {
    return await open(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return open(path, 'wx', 0o600);
  }
}

function openInPlaceSync(path: string): number {
  try {
    return openSync(path, 'r+');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return openSync(path, 'wx', 0o600);
  }
}

export interface CursorWriter {
  /** Acknowledgements arrived: persist `snapshot()` soon (it is called when the write starts). */
  changed(): void;
  /**
   * Closes the file once the write in flight is done; later changes (a closed queue still sees
   * acknowledgements while the forwarder drains it) open it for each write.
   */
  release(): Promise<void>;
  /** Persists the cursor now, synchronously, and releases the file (destroy cannot wait). */
  destroy(): void;
}

export function createCursorWriter(dir: string, snapshot: () => Cursor, onError: (err: Error) => void): CursorWriter {
  const path = cursorPath(dir);
  let dirty = false;
  let handle: FileHandle | undefined;
  let running: Promise<void> | undefined;
  let released = false;
  let destroyed = false;

  /** Writes until the file holds the latest cursor; a failure waits for the next change. */
  const loop = async (): Promise<void> => {
    try {
      while (dirty && !destroyed) {
        dirty = false;
        const buf = encodeCursor(snapshot());
        handle ??= await openInPlace(path);
        // Whatever a longer earlier cursor left after `buf` is outside its checksum: ignored.
        await handle.write(buf, 0, buf.length, 0);
      }
    } catch (err) {
      // A stale cursor only means duplicates after a restart.
      onError(err as Error);
    } finally {
      if (released && handle) {
        await handle.close().catch(onError);
        handle = undefined;
      }
      running = undefined;
    }
  };

  return {
    changed() {
      dirty = true;
      if (!running && !destroyed) running = loop();
    },
    async release() {
      released = true;
      await running;
      await handle?.close().catch(onError);
      handle = undefined;
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      const open = handle;
      handle = undefined;
      void open?.close().catch(onError);
      if (!dirty) return;
      try {
        const buf = encodeCursor(snapshot());
        const fd = openInPlaceSync(path);
        try {
          writeSync(fd, buf, 0, buf.length, 0);
        } finally {
          closeSync(fd);
        }
      } catch (err) {
        onError(err as Error);
      }
    },
  };
}
