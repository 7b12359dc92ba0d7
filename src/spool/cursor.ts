// The spool's durable acknowledgement cursor: where the longest delivered prefix of the spool ends
// (a segment and a byte offset in it). Records before it are not sent again after a restart.
// It is one small file rewritten in place with one positional write each time the prefix grows
// (one write at a time; growth during a write is coalesced into the next), so a kill -9 resends at
// most the batches in flight and those acknowledged during the last write. A cursor file that does
// not check out (a torn write after a power loss) is ignored: the spool then resends, never loses.
import { openSync, readFileSync, writeSync, closeSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';

export interface Position {
  readonly seq: number;
  /** The first byte of segment `seq` not yet delivered. */
  readonly offset: number;
}

const MAGIC = Buffer.from('PMRC');
const CURSOR_BYTES = 20;

export function cursorPath(dir: string): string {
  return join(dir, 'ack.cursor');
}

export function encodeCursor(p: Position): Buffer {
  const buf = Buffer.alloc(CURSOR_BYTES);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(p.seq, 4);
  buf.writeDoubleLE(p.offset, 8);
  buf.writeUInt32LE(crc32(buf.subarray(0, 16)), 16);
  return buf;
}

export function decodeCursor(buf: Buffer): Position | undefined {
  if (buf.length < CURSOR_BYTES || buf.compare(MAGIC, 0, 4, 0, 4) !== 0) return undefined;
  if (crc32(buf.subarray(0, 16)) !== buf.readUInt32LE(16)) return undefined;
  return { seq: buf.readUInt32LE(4), offset: buf.readDoubleLE(8) };
}

/** The cursor an earlier run left; undefined when there is none, 'damaged' when it does not check out. */
export function readCursor(dir: string): Position | 'damaged' | undefined {
  let buf: Buffer;
  try {
    buf = readFileSync(cursorPath(dir));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return decodeCursor(buf) ?? 'damaged';
}

export interface CursorWriter {
  /** The prefix grew to `p`: persist it soon. */
  advance(p: Position): void;
  /**
   * Closes the file once the write in flight is done; later advances (a closed queue still sees
   * acknowledgements while the forwarder drains it) open it for each write.
   */
  release(): Promise<void>;
  /** Persists the last position now, synchronously, and releases the file (destroy cannot wait). */
  destroy(): void;
}

export function createCursorWriter(dir: string, onError: (err: Error) => void): CursorWriter {
  const path = cursorPath(dir);
  let wanted: Position | undefined;
  let written: Position | undefined;
  let handle: FileHandle | undefined;
  let running: Promise<void> | undefined;
  let released = false;
  let destroyed = false;

  /** Writes until the file holds the latest position; a failure waits for the next advance. */
  const loop = async (): Promise<void> => {
    try {
      while (wanted !== written && !destroyed) {
        const p = wanted!;
        handle ??= await open(path, 'w', 0o600);
        await handle.write(encodeCursor(p), 0, CURSOR_BYTES, 0);
        written = p;
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
    advance(p) {
      wanted = p;
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
      if (wanted === undefined || wanted === written) return;
      try {
        const fd = openSync(path, 'w', 0o600);
        try {
          writeSync(fd, encodeCursor(wanted), 0, CURSOR_BYTES, 0);
        } finally {
          closeSync(fd);
        }
        written = wanted;
      } catch (err) {
        onError(err as Error);
      }
    },
  };
}
