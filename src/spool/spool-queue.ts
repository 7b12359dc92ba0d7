// The durable queue: a BatchQueue whose batches are appended to segment files before offer()
// returns, so what a polymur process accepted survives its being killed (the page cache holds the
// write; -fsync-style durability against power loss is the `fsync: 'always'` option). Batches are
// handed out oldest first and a segment file is deleted once every record in it is acknowledged.
// On open, the records of every remaining segment are replayed (a partly acknowledged segment is
// replayed whole: duplicates are possible, loss is not) and a torn or damaged tail is cut off.
import { closeSync, fdatasyncSync, ftruncateSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, unlinkSync, writevSync } from 'node:fs';
import { join } from 'node:path';
import type { Batch, BatchQueue, FullPolicy, Lease } from '../batch/batch.js';
import { createCapacity } from '../batch/capacity.js';
import type { Labels, Registry } from '../observe/metrics.js';
import { decodeRecords, encodeHeader, HEADER_BYTES } from './record.js';

export interface SpoolOptions {
  readonly dir: string;
  /** Bytes of unacknowledged records the spool holds at most. */
  readonly maxBytes: number;
  readonly policy: FullPolicy;
  readonly segmentBytes?: number;
  /** Payload bytes kept in memory for records not yet taken (the rest is read back from disk). */
  readonly memoryBytes?: number;
  readonly fsync?: 'always' | 'never';
  readonly log: (m: string) => void;
  readonly metrics?: Registry;
  /** Labels of this spool's gauges, telling apart the spools of one process (one per destination). */
  readonly labels?: Labels;
  readonly onDrop?: (batch: Batch) => void;
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  records: number;
  acked: number;
  bytes: number;
}

interface Entry {
  readonly segment: Segment;
  /** Offset of the payload in the segment file. */
  readonly offset: number;
  readonly length: number;
  readonly points: number;
  data: Buffer | undefined;
}

const SEGMENT_NAME = /^(\d{12})\.seg$/;

function segmentPath(dir: string, seq: number): string {
  return join(dir, `${String(seq).padStart(12, '0')}.seg`);
}

export function openSpoolQueue(opts: SpoolOptions): BatchQueue {
  const segmentBytes = opts.segmentBytes ?? 16 * 1024 * 1024;
  const memoryBytes = opts.memoryBytes ?? 32 * 1024 * 1024;
  mkdirSync(opts.dir, { recursive: true });

  const segments = new Map<number, Segment>();
  const pending: Entry[] = [];
  const takers: Array<(lease: Lease | undefined) => void> = [];
  // No bound in batches: the spool is bounded by what it holds on disk.
  const capacity = createCapacity({ maxBatches: Infinity, maxBytes: opts.maxBytes, policy: opts.policy, ...(opts.onDrop ? { onDrop: opts.onDrop } : {}) });
  let memoryInUse = 0;
  let closed = false;

  const replayed = opts.metrics?.counter('polymur_spool_records_replayed_total', 'Spool records found on disk at start');
  const damaged = opts.metrics?.counter('polymur_spool_damaged_tails_total', 'Torn or damaged segment tails cut off at start');
  opts.metrics?.gauge('polymur_spool_bytes', 'Bytes of unacknowledged records in the spool', () => capacity.depth().bytes, opts.labels);
  opts.metrics?.gauge('polymur_spool_segments', 'Segment files in the spool', () => segments.size, opts.labels);

  const track = (entry: Entry): void => capacity.hold(entry.length + HEADER_BYTES, entry.points);

  // Replay what an earlier run left.
  const existing = readdirSync(opts.dir)
    .map((name) => SEGMENT_NAME.exec(name))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  for (const seq of existing) {
    const path = segmentPath(opts.dir, seq);
    const buf = readFileSync(path);
    const decoded = decodeRecords(buf);
    if (decoded.damage) {
      damaged?.inc();
      opts.log(`Spool segment ${path}: ${decoded.damage === 'torn' ? 'torn record' : 'checksum mismatch'} at byte ${decoded.validBytes} of ${buf.length}; the ${buf.length - decoded.validBytes} bytes from there are skipped`);
      const fd = openSync(path, 'r+');
      ftruncateSync(fd, decoded.validBytes);
      closeSync(fd);
    }
    if (decoded.records.length === 0) {
      unlinkSync(path);
      continue;
    }
    const segment: Segment = { seq, path, records: decoded.records.length, acked: 0, bytes: decoded.validBytes };
    segments.set(seq, segment);
    for (const r of decoded.records) {
      const keep = memoryInUse + r.length <= memoryBytes;
      const entry: Entry = { segment, offset: r.offset, length: r.length, points: r.points, data: keep ? Buffer.from(buf.subarray(r.offset, r.offset + r.length)) : undefined };
      if (keep) memoryInUse += r.length;
      pending.push(entry);
      track(entry);
    }
    replayed?.inc(decoded.records.length);
  }
  if (pending.length > 0) opts.log(`Spool ${opts.dir}: ${capacity.depth().points} data points in ${pending.length} batches from an earlier run, sent first`);

  let current: Segment;
  let fd = -1;
  let nextSeq = (existing.at(-1) ?? 0) + 1;
  const rotate = (): void => {
    if (fd !== -1) closeSync(fd);
    const seq = nextSeq++;
    const path = segmentPath(opts.dir, seq);
    fd = openSync(path, 'a');
    current = { seq, path, records: 0, acked: 0, bytes: 0 };
    segments.set(seq, current);
  };
  rotate();

  const removeIfDone = (segment: Segment): void => {
    if (segment.acked < segment.records) return;
    if (segment === current) {
      // Only a full current segment is retired here; an idle one is reused.
      if (closed || segment.bytes < segmentBytes) return;
      rotate();
    }
    segments.delete(segment.seq);
    try {
      unlinkSync(segment.path);
    } catch (err) {
      opts.log(`Spool: cannot delete delivered segment ${segment.path}: ${(err as Error).message}`);
    }
  };

  const lease = (entry: Entry): Lease => {
    let batchData = entry.data;
    if (batchData) {
      memoryInUse -= entry.length;
      entry.data = undefined;
    } else {
      batchData = Buffer.allocUnsafe(entry.length);
      const rfd = openSync(entry.segment.path, 'r');
      try {
        readSync(rfd, batchData, 0, entry.length, entry.offset);
      } finally {
        closeSync(rfd);
      }
    }
    let acked = false;
    return {
      batch: { data: batchData, points: entry.points },
      ack() {
        if (acked) return;
        acked = true;
        entry.segment.acked++;
        removeIfDone(entry.segment);
        capacity.release(entry.length + HEADER_BYTES, entry.points);
      },
    };
  };

  /** Appends a batch whose room is already held. */
  const append = (batch: Batch): void => {
      if (current.bytes >= segmentBytes) rotate();
      writevSync(fd, [encodeHeader(batch.data, batch.points), batch.data]);
      if (opts.fsync === 'always') fdatasyncSync(fd);
      const entry: Entry = { segment: current, offset: current.bytes + HEADER_BYTES, length: batch.data.length, points: batch.points, data: undefined };
      current.records++;
      current.bytes += HEADER_BYTES + batch.data.length;
      const taker = takers.shift();
      if (taker) {
        entry.data = batch.data;
        memoryInUse += entry.length;
        taker(lease(entry));
        return;
      }
      if (memoryInUse + entry.length <= memoryBytes) {
        entry.data = batch.data;
        memoryInUse += entry.length;
      }
      pending.push(entry);
  };

  const close = (): void => {
    if (closed) return;
    closed = true;
    closeSync(fd);
    for (const t of takers.splice(0)) t(undefined);
    capacity.close();
  };

  return {
    offer(batch) {
      if (closed) return false;
      const recordBytes = batch.data.length + HEADER_BYTES;
      if (!capacity.fits(recordBytes)) return capacity.whenFull(batch, recordBytes);
      capacity.hold(recordBytes, batch.points);
      append(batch);
      return true;
    },
    reserve(bytes, points) {
      const recordBytes = bytes + HEADER_BYTES;
      if (closed || !capacity.tryHold(recordBytes, points)) return undefined;
      let settled = false;
      return {
        commit(batch) {
          if (settled) return;
          settled = true;
          append(batch);
        },
        cancel() {
          if (settled) return;
          settled = true;
          capacity.release(recordBytes, points);
        },
      };
    },
    limits: capacity.limits,
    fault: () => undefined,
    whenReady: capacity.whenReady,
    takeNow() {
      const entry = pending.shift();
      return entry ? lease(entry) : undefined;
    },
    take() {
      const entry = pending.shift();
      if (entry) return Promise.resolve(lease(entry));
      if (closed) return Promise.resolve(undefined);
      return new Promise((resolve) => takers.push(resolve));
    },
    depth: capacity.depth,
    async close() {
      close();
    },
    destroy: close,
  };
}
