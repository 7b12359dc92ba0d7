// The resend window's own memory: each batch it keeps is copied into chunks it fills in order and
// fills again once the batches in them are let go of. Kept as they came, the batches would outlive
// two of V8's young-generation collections, move to the old generation and, once let go of, wait
// there for a full collection with their buffers: measured in the bench's hash-route relay, a
// window counting 20 MiB cost some 60 MB of RSS (75 MB with the window off, 134-151 MB on).
// Copied, the batch itself dies young, as with the window off, and the window costs its chunks.
// The window lets go of batches oldest first, so a chunk is free once its last batch is.

/** Bytes of one chunk: a few batches of a destination's share. */
export const CHUNK_BYTES = 1024 * 1024;
/** Free chunks kept to fill again; more go to the garbage collector. */
const FREE_KEPT = 2;

export interface WindowArena {
  /** A copy of `data` in the arena; valid until release() frees its chunk. */
  copy(data: Buffer): Buffer;
  /** The copies made before `copy` returned `next` (or all when undefined) are let go of: their chunks are filled again. */
  release(next: Buffer | undefined): void;
  /** Forgets every chunk: the copies handed out stay valid (the caller keeps them) and are never overwritten. */
  forget(): void;
  /** Bytes of the chunks that hold copies, and of the one being filled. */
  readonly bytes: number;
}

export function createWindowArena(chunkBytes = CHUNK_BYTES): WindowArena {
  /** Chunks holding copies, oldest first; the last is being filled. */
  const used: ArrayBuffer[] = [];
  const free: ArrayBuffer[] = [];
  /** Where the next copy goes in the last used chunk. */
  let at = 0;
  let bytes = 0;

  const chunkFor = (size: number): ArrayBuffer => {
    const recycled = size <= chunkBytes ? free.pop() : undefined;
    const chunk = recycled ?? (Buffer.allocUnsafeSlow(Math.max(size, chunkBytes)).buffer as ArrayBuffer);
    used.push(chunk);
    bytes += chunk.byteLength;
    at = 0;
    return chunk;
  };

  return {
    copy(data) {
      const last = used[used.length - 1];
      const chunk = last !== undefined && at + data.length <= last.byteLength ? last : chunkFor(data.length);
      const copy = Buffer.from(chunk, at, data.length);
      copy.set(data);
      at += data.length;
      return copy;
    },
    release(next) {
      // Every chunk before the one `next` lies in holds only copies let go of; with none left, all do but the one being filled.
      const keepFrom = next === undefined ? used.length - 1 : used.indexOf(next.buffer as ArrayBuffer);
      for (const chunk of used.splice(0, Math.max(0, keepFrom))) {
        bytes -= chunk.byteLength;
        if (chunk.byteLength === chunkBytes && free.length < FREE_KEPT) free.push(chunk);
      }
      if (next === undefined && used.length === 1) at = 0;
    },
    forget() {
      for (const chunk of used) bytes -= chunk.byteLength;
      used.length = 0;
      at = 0;
    },
    get bytes() {
      return bytes;
    },
  };
}
