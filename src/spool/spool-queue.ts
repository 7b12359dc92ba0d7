// The durable queue: a BatchQueue whose batches are appended to segment files, oldest handed out
// first, a segment deleted once every record in it is acknowledged. Disk I/O is off the event
// loop: a committed batch is held in memory (bounded: past writeBacklogBytes waiting, the spool
// counts as full) until an async writer has appended it, and records not held in memory are read
// back ahead of the forwarder. A failing append (ENOSPC, EIO, EROFS) keeps its records in memory
// and is retried with backoff; meanwhile fault() says why and the spool counts as full, so
// -when-full applies. A durable cursor (cursor.ts) marks what was delivered, so a restart does not
// resend it; what an earlier run left is read at start (replay.ts: damage skipped, logged, counted).
import { mkdirSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import type { Batch, BatchQueue, FullPolicy, Lease, Reservation } from '../batch/batch.js';
import { createCapacity } from '../batch/capacity.js';
import { rateLimitedLog } from '../observe/log.js';
import type { Labels, Registry } from '../observe/metrics.js';
import { before, createCursorWriter, MAX_RUNS, type Cursor, type DeliveredRun, type Position } from './cursor.js';
import { Fifo } from './fifo.js';
import { decodeRecords, encodeHeader, HEADER_BYTES } from './record.js';
import { readLeftover, segmentPath } from './replay.js';
import { PolymurError } from '../errors.js';

export type SpoolFsync = 'always' | 'interval' | 'never';

export interface SpoolOptions {
  readonly dir: string;
  /** Bytes of unacknowledged records the spool holds at most. */
  readonly maxBytes: number;
  readonly policy: FullPolicy;
  readonly segmentBytes?: number;
  /** Payload bytes kept in memory for records not yet taken (the rest is read back from disk). */
  readonly memoryBytes?: number;
  /** Payload bytes committed but not yet on disk before the spool counts as full. */
  readonly writeBacklogBytes?: number;
  /** always: fdatasync after every append; interval: every fsyncIntervalMs; never: the OS decides. */
  readonly fsync?: SpoolFsync;
  readonly fsyncIntervalMs?: number;
  /** Longest wait between two attempts of a failing append. */
  readonly retryMaxMs?: number;
  readonly log: (m: string) => void;
  readonly metrics?: Registry;
  /** Labels of this spool's gauges beside `spool` (its directory), e.g. the destination it queues for. */
  readonly labels?: Labels;
  readonly onDrop?: (batch: Batch) => void;
}

interface Segment {
  readonly seq: number;
  readonly path: string;
  /** Intact records in the file not delivered before this run. */
  records: number;
  acked: number;
  /** Where the next record goes (for the segment being written). */
  bytes: number;
  handle?: FileHandle;
}

interface Entry {
  /** Set once written. */
  segment?: Segment;
  /** Offsets of the record's header and of its payload in its segment. */
  start: number;
  offset: number;
  readonly length: number;
  readonly points: number;
  /** Room held on the capacity for this record. */
  readonly heldBytes: number;
  data: Buffer | undefined;
  /** Whether `data` counts in the read cache (written, not taken). */
  cached: boolean;
  taken: boolean;
  acked: boolean;
  /** Could not be read back (logged and counted): passed over when its turn comes. */
  lost: boolean;
  loading?: Promise<void>;
}

/** Records written with one writev (two buffers each, well under IOV_MAX). */
const WRITE_GROUP_RECORDS = 256;
const WRITE_GROUP_BYTES = 4 * 1024 * 1024;
const READ_AHEAD_BYTES = 1024 * 1024;
const RETRY_FIRST_MS = 50;
/** Entries the cursor looks at beyond the delivered prefix for runs delivered out of order. */
const MAX_WALK = 8192;

function errorCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN';
}

class ShortWriteError extends PolymurError {
  readonly code = 'POLYMUR_ERR_SPOOL_SHORT_WRITE';
  constructor(path: string, wrote: number, wanted: number) {
    super(`short write to ${path}: ${wrote} of ${wanted} bytes (no space left on device?)`);
  }
}

class DamagedRecordError extends PolymurError {
  readonly code = 'POLYMUR_ERR_SPOOL_DAMAGED_RECORD';
  constructor(path: string, start: number) {
    super(`record at byte ${start} of ${path} no longer checks out`);
  }
}

export function openSpoolQueue(opts: SpoolOptions): BatchQueue {
  const dir = opts.dir;
  const segmentBytes = opts.segmentBytes ?? 16 * 1024 * 1024;
  const memoryBytes = opts.memoryBytes ?? 32 * 1024 * 1024;
  const backlogBytes = opts.writeBacklogBytes ?? 16 * 1024 * 1024;
  const fsync = opts.fsync ?? 'interval';
  const retryMaxMs = opts.retryMaxMs ?? 1000;
  const labels: Labels = { spool: dir, ...opts.labels };
  const log = opts.log;
  const quietLog = rateLimitedLog(log);
  mkdirSync(dir, { recursive: true, mode: 0o700 });

  const segments = new Map<number, Segment>();
  /** Entries not yet taken, oldest first. */
  const pending = new Fifo<Entry>();
  /** Every entry not yet in the delivered prefix, in spool order: the cursor follows its head. */
  const order = new Fifo<Entry>();
  /** Committed entries the writer has not appended yet. */
  const unwritten = new Fifo<Entry>();
  const takers: Array<(lease: Lease | undefined) => void> = [];
  const listeners: Array<() => void> = [];
  // No bound in batches: the spool is bounded by what it holds on disk.
  const capacity = createCapacity({ maxBatches: Infinity, maxBytes: opts.maxBytes, policy: opts.policy });
  let unwrittenBytes = 0;
  let cachedBytes = 0;
  /** Pending entries that are written and not in memory. */
  let unloaded = 0;
  let refusedBytes = 1;
  let fault: string | undefined;
  let closed = false;
  let destroyed = false;

  const m = opts.metrics;
  const replayed = m?.counter('polymur_spool_records_replayed_total', 'Spool records found on disk at start, not yet delivered');
  const skippedBytes = m?.counter('polymur_spool_skipped_bytes_total', 'Spool bytes skipped at start: damaged records, torn tails');
  const ioErrors = m?.counter('polymur_spool_io_errors_total', 'Failed spool disk operations, by operation and error code');
  const written = m?.counter('polymur_spool_points_written_total', 'Data points appended to spool segments');
  const lost = m?.counter('polymur_spool_points_lost_total', 'Data points the spool could not keep, by reason (logged)');
  replayed?.inc(0, labels);
  written?.inc(0, labels);
  for (const kind of ['damaged', 'torn']) skippedBytes?.inc(0, { ...labels, kind });
  m?.gauge('polymur_spool_bytes', 'Bytes of unacknowledged records in the spool', () => capacity.depth().bytes, labels);
  m?.gauge('polymur_spool_segments', 'Segment files in the spool', () => segments.size, labels);
  m?.gauge('polymur_spool_unwritten_bytes', 'Bytes committed to the spool and held in memory until written', () => unwrittenBytes, labels);
  m?.gauge('polymur_spool_fault', 'Whether the spool cannot write now (1: full disk or write errors)', () => (fault ? 1 : 0), labels);

  const ioError = (op: string, err: unknown): void => {
    ioErrors?.inc(1, { ...labels, op, code: errorCode(err) });
  };

  // ---- Replay what an earlier run left.
  const leftover = readLeftover(dir, log, (s) => skippedBytes?.inc(s.bytes, { ...labels, kind: s.kind }));
  const cursor = leftover.cursor;
  for (const left of leftover.segments) {
    const segment: Segment = { seq: left.seq, path: left.path, records: left.records.length, acked: 0, bytes: left.validBytes };
    segments.set(segment.seq, segment);
    for (const r of left.records) {
      const keep = unloaded === 0 && cachedBytes + r.length <= memoryBytes;
      const entry: Entry = {
        segment,
        start: r.start,
        offset: r.offset,
        length: r.length,
        points: r.points,
        heldBytes: r.offset - r.start + r.length,
        data: keep ? Buffer.from(left.buf.subarray(r.offset, r.offset + r.length)) : undefined,
        cached: keep,
        taken: false,
        acked: false,
        lost: false,
      };
      if (keep) cachedBytes += r.length;
      else unloaded++;
      pending.push(entry);
      order.push(entry);
      capacity.hold(entry.heldBytes, entry.points);
    }
    replayed?.inc(left.records.length, labels);
  }
  if (leftover.alreadyDelivered > 0) log(`Spool ${dir}: ${leftover.alreadyDelivered} records delivered before the last stop are not sent again`);
  if (pending.length > 0) log(`Spool ${dir}: ${capacity.depth().points} data points in ${pending.length} batches from an earlier run, sent first`);

  let nextSeq = leftover.lastSeq + 1;
  let current: Segment | undefined;
  /** Whether the current segment has writes not yet fdatasync'ed. */
  let dirty = false;
  let syncing: Promise<void> | undefined;
  /** Where the delivered prefix ends: the start of the oldest record not yet delivered. */
  let prefix: Position = order.peek()?.segment ? { seq: order.peek()!.segment!.seq, offset: order.peek()!.start } : (cursor?.prefix ?? { seq: 0, offset: 0 });
  /**
   * The delivered prefix, and runs of delivered records beyond it (bounded walk): the runs an
   * earlier run delivered (records never loaded, so in no entry) until the prefix passes them,
   * and those of this run.
   */
  const snapshot = (): Cursor => {
    const runs: DeliveredRun[] = (cursor?.runs ?? []).filter((r) => before(prefix, r.to));
    let from: Position | undefined;
    let to: Position | undefined;
    for (let i = 0, e = order.at(0); e && i < MAX_WALK && runs.length < MAX_RUNS; e = order.at(++i)) {
      if (e.acked && e.segment) {
        from ??= { seq: e.segment.seq, offset: e.start };
        to = { seq: e.segment.seq, offset: e.offset + e.length };
      } else if (from) {
        runs.push({ from, to: to! });
        from = undefined;
      }
    }
    if (from && runs.length < MAX_RUNS) runs.push({ from, to: to! });
    return { prefix, runs };
  };
  const cursorWriter = createCursorWriter(dir, snapshot, (err) => {
    ioError('cursor', err);
    quietLog(`Spool ${dir}: cannot write the acknowledgement cursor: ${err.message}`);
  });

  // ---- Readiness: room on disk, no fault, a bounded write backlog.
  const ready = (bytes: number): boolean => !closed && fault === undefined && (unwrittenBytes === 0 || unwrittenBytes + bytes <= backlogBytes) && capacity.fits(bytes);
  const notify = (): void => {
    if (listeners.length > 0 && (closed || ready(refusedBytes))) for (const l of listeners.splice(0)) l();
  };

  // ---- Segments and the delivered prefix.
  const deleteSegment = (segment: Segment): void => {
    segments.delete(segment.seq);
    unlink(segment.path).catch((err: unknown) => {
      ioError('delete', err);
      quietLog(`Spool: cannot delete delivered segment ${segment.path}: ${(err as Error).message}`);
    });
  };

  /** Deletes a segment all of whose records are delivered, unless it is still being written. */
  const retire = (segment: Segment): void => {
    if (segment.acked < segment.records || !segments.has(segment.seq)) return;
    if (segment === current) {
      // An idle current segment is reused until full; a full one is retired when no write is running.
      if (segment.bytes < segmentBytes || writing) return;
      current = undefined;
      void closeSegment(segment);
    }
    deleteSegment(segment);
  };

  const advanceCursor = (): void => {
    for (let head = order.peek(); head && head.acked && head.segment; head = order.peek()) {
      order.shift();
      // Up to the next entry's record: what lies between was delivered before or is damage.
      const next = order.peek();
      prefix = next?.segment ? { seq: next.segment.seq, offset: next.start } : { seq: head.segment.seq, offset: head.offset + head.length };
    }
    cursorWriter.changed();
  };

  // ---- Handing out batches.
  const lease = (entry: Entry): Lease => {
    const data = entry.data!;
    entry.taken = true;
    if (entry.cached) {
      cachedBytes -= entry.length;
      entry.cached = false;
    }
    // An unwritten entry keeps its buffer for the writer.
    if (entry.segment) entry.data = undefined;
    fill();
    return {
      batch: { data, points: entry.points },
      ack: () => settle(entry),
    };
  };

  /** The entry is delivered (or passed over): its room is freed and the cursor may move. */
  const settle = (entry: Entry): void => {
    if (entry.acked) return;
    entry.acked = true;
    capacity.release(entry.heldBytes, entry.points);
    if (entry.segment) {
      entry.segment.acked++;
      advanceCursor();
      retire(entry.segment);
    }
    notify();
  };

  /** Passes over the records at the head of pending that could not be read back. */
  const skipLost = (): void => {
    for (let head = pending.peek(); head?.lost; head = pending.peek()) {
      pending.shift();
      settle(head);
    }
  };

  /** Reads a run of consecutive records of one segment back into memory, checking each again. */
  const readRun = async (run: Entry[]): Promise<void> => {
    const segment = run[0]!.segment!;
    const start = run[0]!.start;
    const last = run.at(-1)!;
    const end = last.offset + last.length;
    const buf = Buffer.allocUnsafe(end - start);
    const handle = await open(segment.path, 'r');
    try {
      const { bytesRead } = await handle.read(buf, 0, buf.length, start);
      if (bytesRead < buf.length) throw new DamagedRecordError(segment.path, start + bytesRead);
    } finally {
      await handle.close();
    }
    for (const entry of run) {
      const record = buf.subarray(entry.start - start, entry.offset + entry.length - start);
      const check = decodeRecords(record);
      if (check.records.length !== 1 || check.skipped.length > 0) throw new DamagedRecordError(segment.path, entry.start);
    }
    for (const entry of run) {
      const at = entry.offset - start;
      entry.data = buf.subarray(at, at + entry.length);
      if (!entry.taken) {
        entry.cached = true;
        cachedBytes += entry.length;
        unloaded--;
      }
    }
  };

  /** A record that cannot be read back: logged and counted, then passed over when its turn comes. */
  const giveUp = (entry: Entry, err: Error): void => {
    lost?.inc(entry.points, { ...labels, reason: 'unreadable' });
    quietLog(`Spool ${dir}: ${entry.points} data points lost: ${err.message}`);
    entry.lost = true;
    if (!entry.taken) unloaded--;
  };

  /** Loads `entry` (with what follows it in its segment, up to the read-ahead), retrying what failed. */
  const load = (entry: Entry, run: Entry[] = [entry]): Promise<void> => {
    const loading = (async () => {
      for (let attempt = 0, wait = RETRY_FIRST_MS; !destroyed; attempt++, wait = Math.min(wait * 2, retryMaxMs)) {
        try {
          await readRun(run);
          return;
        } catch (err) {
          ioError('read', err);
          const code = errorCode(err);
          if (code === 'ENOENT' || code === 'POLYMUR_ERR_SPOOL_DAMAGED_RECORD' || attempt >= 20) {
            if (run.length > 1)
              return load(entry).then(
                () => undefined,
                () => undefined,
              );
            giveUp(entry, err as Error);
            return;
          }
          quietLog(`Spool ${dir}: cannot read back a record of ${entry.segment!.path} (${(err as Error).message}); retrying in ${wait} ms`);
          await sleep(wait);
        }
      }
    })();
    for (const e of run) e.loading = loading;
    return loading.finally(() => {
      for (const e of run) if (e.loading === loading) delete e.loading;
    });
  };

  /** Reads ahead the oldest pending records not in memory, within the memory budget. */
  let filling = false;
  const fill = (): void => {
    if (filling || unloaded === 0 || destroyed) return;
    let i = 0;
    let head = pending.at(0);
    while (head && (head.data || head.loading || head.lost)) head = pending.at(++i);
    if (!head || cachedBytes + head.length > memoryBytes) return;
    const run = [head];
    let bytes = head.length;
    for (let next = pending.at(++i); next && !next.data && !next.loading && !next.lost && next.segment === head.segment; next = pending.at(++i)) {
      const prev = run.at(-1)!;
      if (next.start !== prev.offset + prev.length || bytes + next.length > READ_AHEAD_BYTES || cachedBytes + bytes + next.length > memoryBytes) break;
      run.push(next);
      bytes += next.length;
    }
    filling = true;
    load(head, run)
      .catch((err: unknown) => {
        ioError('reader', err);
        quietLog(`Spool ${dir}: the read-ahead failed unexpectedly: ${(err as Error).stack ?? String(err)}`);
      })
      .finally(() => {
        filling = false;
        fill();
      });
  };

  const takeEntry = async (entry: Entry): Promise<Lease | undefined> => {
    while (!entry.data && !entry.lost) {
      if (!entry.loading) {
        // Taken before the read-ahead reached it.
        if (!entry.taken) {
          entry.taken = true;
          unloaded--;
        }
        await load(entry);
      } else {
        await entry.loading;
      }
    }
    if (!entry.lost) return lease(entry);
    settle(entry);
    return take();
  };

  const take = (): Promise<Lease | undefined> => {
    skipLost();
    const entry = pending.shift();
    if (entry) return takeEntry(entry);
    if (closed) return Promise.resolve(undefined);
    return new Promise((resolve) => takers.push(resolve));
  };

  // ---- Writing.
  let writing = false;
  let drained: (() => void) | undefined;
  /** Backoff waits of the writer and the readers, cut short by destroy(). */
  const sleepers = new Map<NodeJS.Timeout, () => void>();
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        sleepers.delete(timer);
        resolve();
      }, ms);
      timer.unref();
      sleepers.set(timer, resolve);
    });

  const sync = (segment: Segment): Promise<void> => {
    if (!dirty || !segment.handle) return Promise.resolve();
    dirty = false;
    const handle = segment.handle;
    syncing = handle
      .datasync()
      .then(
        () => undefined,
        (err: unknown) => {
          dirty = true;
          ioError('fsync', err);
          quietLog(`Spool ${dir}: fdatasync of ${segment.path} failed: ${(err as Error).message}`);
        },
      )
      .finally(() => {
        syncing = undefined;
      });
    return syncing;
  };

  async function closeSegment(segment: Segment): Promise<void> {
    const handle = segment.handle;
    if (!handle) return;
    await syncing;
    if (fsync !== 'never') await sync(segment);
    delete segment.handle;
    await handle.close().catch((err: unknown) => ioError('close', err));
  }

  const rotate = async (): Promise<void> => {
    const old = current;
    if (old) {
      current = undefined;
      await closeSegment(old);
      retire(old);
    }
    const seq = nextSeq;
    const path = segmentPath(dir, seq);
    const handle = await open(path, 'w', 0o600);
    nextSeq++;
    current = { seq, path, records: 0, acked: 0, bytes: 0, handle };
    segments.set(seq, current);
    if (fsync !== 'never') await syncDirectory();
  };

  /** Makes a new segment's directory entry durable, as fdatasync makes its records. */
  const syncDirectory = async (): Promise<void> => {
    try {
      const handle = await open(dir, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (err) {
      ioError('fsync', err);
      quietLog(`Spool ${dir}: fsync of the directory failed: ${(err as Error).message}`);
    }
  };

  /** Appends the oldest unwritten entries; answers whether one of them was already acknowledged. */
  const appendGroup = async (groupBytes: number): Promise<boolean> => {
    if (!current || current.bytes >= segmentBytes) await rotate();
    const segment = current!;
    const group: Entry[] = [];
    const buffers: Buffer[] = [];
    let total = 0;
    for (
      let e = unwritten.at(0);
      e && group.length < WRITE_GROUP_RECORDS && (group.length === 0 || (total + e.length <= groupBytes && segment.bytes + total < segmentBytes));
      e = unwritten.at(group.length)
    ) {
      group.push(e);
      buffers.push(encodeHeader(e.data!, e.points), e.data!);
      total += HEADER_BYTES + e.length;
    }
    const { bytesWritten } = await segment.handle!.writev(buffers, segment.bytes);
    if (bytesWritten !== total) throw new ShortWriteError(segment.path, bytesWritten, total);
    dirty = true;
    if (fsync === 'always') await sync(segment);
    let at = segment.bytes;
    let points = 0;
    for (const entry of group) {
      unwritten.shift();
      unwrittenBytes -= entry.length;
      entry.segment = segment;
      entry.start = at;
      entry.offset = at + HEADER_BYTES;
      at += HEADER_BYTES + entry.length;
      points += entry.points;
      segment.records++;
      if (entry.acked) segment.acked++;
      if (entry.taken) {
        entry.data = undefined;
      } else if (unloaded === 0 && cachedBytes + entry.length <= memoryBytes) {
        entry.cached = true;
        cachedBytes += entry.length;
      } else {
        entry.data = undefined;
        unloaded++;
      }
    }
    segment.bytes = at;
    written?.inc(points, labels);
    appendedCount += group.length;
    settleWritten(false);
    return group.some((e) => e.acked);
  };

  const writeFailed = async (err: unknown): Promise<void> => {
    ioError('write', err);
    const reason = `cannot write to ${current?.path ?? dir}: ${(err as Error).message}`;
    if (fault === undefined) {
      log(`SPOOL ${dir} ${reason}; the spool counts as full (-when-full applies) and ${unwritten.length} batches wait in memory; retrying until it works`);
    }
    fault = reason;
    // Give back what a partial write took, so the retry starts on a record boundary.
    const segment = current;
    if (segment?.handle) {
      await segment.handle.truncate(segment.bytes).catch((e: unknown) => ioError('truncate', e));
    }
  };

  const writeLoop = async (): Promise<void> => {
    writing = true;
    let wait = RETRY_FIRST_MS;
    // Shrinks while appends fail, so what still fits on a nearly full disk is written.
    let groupBytes = WRITE_GROUP_BYTES;
    try {
      while (unwritten.length > 0 && !destroyed) {
        let placedAcked: boolean;
        try {
          placedAcked = await appendGroup(groupBytes);
        } catch (err) {
          await writeFailed(err);
          if (destroyed) break;
          groupBytes = Math.max(1, groupBytes >> 2);
          await sleep(wait);
          wait = Math.min(wait * 2, retryMaxMs);
          continue;
        }
        wait = RETRY_FIRST_MS;
        groupBytes = Math.min(WRITE_GROUP_BYTES, groupBytes * 2);
        // Recovered once everything held in memory is on disk, not at the first record that fits.
        if (fault !== undefined && unwritten.length === 0) {
          log(`Spool ${dir}: writing works again; every batch held in memory is on disk`);
          fault = undefined;
        }
        if (placedAcked) advanceCursor();
        notify();
        fill();
      }
    } catch (err) {
      // Nothing above should throw; if it does, the records stay in memory and the writer starts again.
      ioError('writer', err);
      log(`Spool ${dir}: the writer stopped on an unexpected error: ${(err as Error).stack ?? String(err)}; starting it again in ${retryMaxMs} ms`);
      void sleep(retryMaxMs).then(kickWriter);
    } finally {
      writing = false;
      if (current) retire(current);
      if (unwritten.length === 0) drained?.();
      notify();
    }
  };
  const kickWriter = (): void => {
    if (!writing && !destroyed) void writeLoop();
  };

  const syncTimer =
    fsync === 'interval'
      ? setInterval(() => {
          if (current && !syncing) void sync(current);
        }, opts.fsyncIntervalMs ?? 1000)
      : undefined;
  syncTimer?.unref();

  /** Places a batch whose room is already held. */
  // What written() waits for: batches are appended in the order they were committed.
  let committedCount = 0;
  let appendedCount = 0;
  const writtenWaiters: Array<{ count: number; resolve: () => void }> = [];
  const settleWritten = (all: boolean): void => {
    while (writtenWaiters.length > 0 && (all || writtenWaiters[0]!.count <= appendedCount)) writtenWaiters.shift()!.resolve();
  };

  const append = (batch: Batch, heldBytes: number): void => {
    committedCount++;
    const entry: Entry = {
      start: -1,
      offset: -1,
      length: batch.data.length,
      points: batch.points,
      heldBytes,
      data: batch.data,
      cached: false,
      taken: false,
      acked: false,
      lost: false,
    };
    unwritten.push(entry);
    unwrittenBytes += entry.length;
    order.push(entry);
    const taker = takers.shift();
    if (taker) taker(lease(entry));
    else pending.push(entry);
    kickWriter();
  };

  let closing: Promise<void> | undefined;

  return {
    offer(batch) {
      const recordBytes = batch.data.length + HEADER_BYTES;
      if (!ready(recordBytes)) {
        if (closed || opts.policy === 'block') {
          refusedBytes = recordBytes;
          return false;
        }
        opts.onDrop?.(batch);
        return true;
      }
      capacity.hold(recordBytes, batch.points);
      append(batch, recordBytes);
      return true;
    },
    reserve(bytes, points): Reservation | undefined {
      const recordBytes = bytes + HEADER_BYTES;
      if (!ready(recordBytes)) {
        refusedBytes = recordBytes;
        return undefined;
      }
      capacity.hold(recordBytes, points);
      let settled = false;
      return {
        commit(batch) {
          if (settled) return;
          settled = true;
          append(batch, recordBytes);
        },
        cancel() {
          if (settled) return;
          settled = true;
          capacity.release(recordBytes, points);
          notify();
        },
      };
    },
    limits: capacity.limits,
    fault: () => fault,
    whenReady(listener) {
      if (closed || ready(refusedBytes)) listener();
      else listeners.push(listener);
    },
    takeNow() {
      skipLost();
      const head = pending.peek();
      if (!head?.data) {
        fill();
        return undefined;
      }
      pending.shift();
      return lease(head);
    },
    take,
    depth: capacity.depth,
    written() {
      if (appendedCount >= committedCount || destroyed) return Promise.resolve();
      return new Promise<void>((resolve) => writtenWaiters.push({ count: committedCount, resolve }));
    },
    close() {
      closing ??= (async () => {
        closed = true;
        for (const t of takers.splice(0)) t(undefined);
        notify();
        if (unwritten.length > 0) {
          await new Promise<void>((resolve) => {
            drained = resolve;
            kickWriter();
          });
        }
        clearInterval(syncTimer);
        if (current) await closeSegment(current);
        await cursorWriter.release();
      })();
      return closing;
    },
    destroy() {
      if (destroyed) return;
      destroyed = true;
      closed = true;
      clearInterval(syncTimer);
      for (const [timer, wake] of sleepers) {
        clearTimeout(timer);
        wake();
      }
      sleepers.clear();
      if (unwritten.length > 0) {
        const points = unwritten.drain().reduce((sum, e) => sum + e.points, 0);
        lost?.inc(points, { ...labels, reason: 'unwritten' });
        log(`Spool ${dir}: stopped before ${points} data points held in memory were written (${fault ?? 'the writer was still busy'}); they are lost`);
      }
      drained?.();
      settleWritten(true);
      for (const t of takers.splice(0)) t(undefined);
      for (const l of listeners.splice(0)) l();
      if (current?.handle) void current.handle.close().catch((err: unknown) => ioError('close', err));
      cursorWriter.destroy();
    },
  };
}
