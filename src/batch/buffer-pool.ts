// Batch buffers filled again once their data has been read, instead of a fresh allocation per
// batch. A batch is a few hundred KiB outside V8's heap: allocating one per 5,000 points and
// dropping it soon after is external-memory churn, and it set off most of the proxy's full garbage
// collections under load (their marking threads were about a tenth of its CPU).

export interface BufferPool {
  /** `size` bytes to fill: a view of a recycled buffer when one is big enough, else a new one. */
  take(size: number): Buffer;
  /** Hands back a buffer from take() whose contents will not be read again; any other is ignored. */
  give(buf: Buffer): void;
}

/** Buffers are allocated in steps of this size, so batches of slightly different sizes share them. */
const GRANULE = 64 * 1024;

/** keep: how many free buffers are held for reuse at most (the rest go to the garbage collector). */
export function createBufferPool(opts: { keep: number }): BufferPool {
  const free: ArrayBuffer[] = [];
  const ours = new WeakSet<ArrayBuffer>();

  const allocate = (size: number): ArrayBuffer => {
    // allocUnsafeSlow: an ArrayBuffer of its own, not zero-filled (every byte handed out is written).
    const backing = Buffer.allocUnsafeSlow(Math.max(GRANULE, Math.ceil(size / GRANULE) * GRANULE)).buffer as ArrayBuffer;
    ours.add(backing);
    return backing;
  };

  return {
    take(size) {
      const i = free.findIndex((b) => b.byteLength >= size);
      const backing = i === -1 ? allocate(size) : free.splice(i, 1)[0]!;
      return Buffer.from(backing, 0, size);
    },
    give(buf) {
      const backing = buf.buffer as ArrayBuffer;
      if (!ours.has(backing) || buf.byteOffset !== 0 || free.length >= opts.keep || free.includes(backing)) return;
      free.push(backing);
    },
  };
}
