// An /ingest body, read with its compressed size counted against -max-body-bytes, its decompressed
// size against -max-batch-bytes, and the memory it holds against the gateway's one in-flight budget
// (-max-inflight-bytes, see inflight-budget.ts). A body of ordinary size (a proxy batch is under
// 100 KiB) is held whole and inflated in one pass of at most PASS_OUTPUT_BYTES: about half the CPU
// of a streaming gunzip (no thread-pool round trip per piece, no stream machinery) and, sized
// from the gzip trailer, one output allocation. Anything that inflates to more — a larger body, a
// batch of many MiB, a bomb, a trailer that lies — is inflated by zlib's thread pool in pieces,
// so the event loop never runs more than a millisecond or two of inflate for one request, and a
// bomb is cut off at the cap while it is still being sent, never held whole.
import type { IncomingMessage } from 'node:http';
import { createGunzip, gunzipSync, type Gunzip } from 'node:zlib';
import { isalGunzipInto, type GunzipInto } from '../forward/gzip.js';
import { BudgetExhausted, type Lease } from './inflight-budget.js';
import { joinInSteps } from '../lifecycle/steps.js';
import { PolymurError } from '../errors.js';

/** Over -max-body-bytes (compressed) or -max-batch-bytes (decompressed): answered 413. */
export class BodyTooLarge extends PolymurError {
  readonly code = 'POLYMUR_ERR_BODY_TOO_LARGE';
  constructor(message = 'request body over -max-body-bytes (compressed) or -max-batch-bytes (inflated)') {
    super(message);
  }
}

/** Not a gzip stream, or a broken one: answered 400. */
export class BodyMalformed extends PolymurError {
  readonly code = 'POLYMUR_ERR_BODY_MALFORMED';
}

export interface BodyLimits {
  /** Compressed bytes, as received. */
  readonly maxBodyBytes: number;
  /** Decompressed bytes. */
  readonly maxBatchBytes: number;
}

export interface BodyBudget {
  /** This request's share of the in-flight budget; what it holds when readBody resolves is the body. */
  readonly lease: Lease;
  /** How long to wait for room before giving up with BudgetExhausted. */
  readonly waitMs: number;
}

export interface Body {
  readonly data: Buffer;
  /** Bytes on the wire (the gzip stream, or the plain body). */
  readonly received: number;
}

/** ID1, ID2 and CM (deflate) of every gzip member (RFC 1952). */
const GZIP_MAGIC = [0x1f, 0x8b, 0x08];
/** Compressed bytes held before the body is inflated as it streams (up to 1,000x that once inflated). */
export const STREAM_AFTER_BYTES = 1024 * 1024;
/** The most the one pass on the event loop inflates: a millisecond or two; beyond it, the thread pool. */
const PASS_OUTPUT_BYTES = 1024 * 1024;
/** Output pieces of the streaming gunzip of a body whose size is not known: thread-pool jobs of well under a millisecond. */
const STREAM_PIECE_BYTES = 256 * 1024;
/** The smallest output piece of the one pass: a trailer that lies low must not make it inflate in tiny steps. */
const MIN_PASS_PIECE_BYTES = 64 * 1024;

/**
 * Reads the body. Rejects with BodyTooLarge, BodyMalformed, BudgetExhausted (or the request's
 * error); the request is never destroyed here, so an answer can still be sent (the rest of the
 * body is read and dropped). The lease is left holding the body's size; the caller releases it.
 */
export function readBody(req: IncomingMessage, gzip: boolean, limits: BodyLimits, budget: BodyBudget): Promise<Body> {
  const { lease, waitMs } = budget;
  const cap = gzip ? limits.maxBodyBytes : Math.min(limits.maxBodyBytes, limits.maxBatchBytes);
  return new Promise<Body>((resolve, reject) => {
    // Chunks not yet taken in, in order: taking one may wait (for room in the budget, for gunzip).
    const backlog: Buffer[] = [];
    // A body of declared length that will be held whole is copied into one buffer as it arrives:
    // its chunks die at once, and no second copy of the body is made at its end.
    const declared = heldLength(req, cap);
    let whole: Buffer | undefined;
    const held: Buffer[] = [];
    let heldBytes = 0;
    let received = 0;
    let stream: StreamingGunzip | undefined;
    let busy = false;
    let ended = false;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      req.removeListener('data', onData);
      stream?.destroy();
      req.resume();
      reject(err);
    };
    const finish = (data: Buffer): void => {
      if (settled) return;
      settled = true;
      // From here the lease holds the body and nothing else (compressed bytes and unused room given back).
      lease.shrink(lease.held - data.length);
      resolve({ data, received });
    };
    /** Reserves room, the request paused while it waits. */
    const reserve = async (bytes: number): Promise<void> => {
      if (lease.tryReserve(bytes)) return;
      req.pause();
      await reserveOrThrow(lease, bytes, waitMs);
      req.resume();
    };
    const feed = async (chunk: Buffer): Promise<void> => {
      // Backpressure: a small body may expand a thousandfold; read on only as gunzip keeps up.
      if (stream!.write(chunk)) return;
      req.pause();
      await stream!.drained();
      req.resume();
    };
    /** Takes the backlog in, one chunk at a time, then the end of the body. */
    const pump = async (): Promise<void> => {
      busy = true;
      while (backlog.length > 0 && !settled) {
        const chunk = backlog.shift()!;
        if (stream) {
          await feed(chunk);
          continue;
        }
        if (declared !== undefined) {
          if (!whole) {
            await reserve(declared);
            whole = Buffer.allocUnsafe(declared);
          }
          heldBytes += chunk.copy(whole, heldBytes);
          continue;
        }
        await reserve(chunk.length);
        held.push(chunk);
        heldBytes += chunk.length;
        if (gzip && heldBytes > STREAM_AFTER_BYTES) {
          // Inflated as it streams from here on: room for a whole batch first, so that a request
          // that started inflating can always finish (no two requests each waiting on the other).
          await reserve(limits.maxBatchBytes);
          stream = streamingGunzip(limits.maxBatchBytes, lease);
          stream.done.then(finish, fail);
          for (const c of held.splice(0)) await feed(c);
        }
      }
      busy = false;
      if (ended && !settled) endOfBody();
    };
    const endOfBody = (): void => {
      if (stream) return stream.end();
      const body = whole ? whole.subarray(0, heldBytes) : held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes);
      held.length = 0;
      if (!gzip) return finish(body);
      inflateWhole(body, limits.maxBatchBytes, budget).then(finish, fail);
    };
    function onData(chunk: Buffer): void {
      // Not gzip at all: refused at its first bytes, not once the body ends or reaches a cap.
      if (gzip && !agreesWithGzipMagic(chunk, received)) return fail(new BodyMalformed('not a gzip stream'));
      received += chunk.length;
      if (received > cap) return fail(new BodyTooLarge());
      backlog.push(chunk);
      if (!busy) pump().catch(fail);
    }
    req.on('data', onData);
    req.once('error', fail);
    req.once('end', () => {
      ended = true;
      if (!busy && !settled) endOfBody();
    });
  });
}

/** The body's Content-Length when it will be held whole (at most STREAM_AFTER_BYTES and the cap), else undefined. */
function heldLength(req: IncomingMessage, cap: number): number | undefined {
  const text = req.headers['content-length'];
  if (text === undefined || !/^\d{1,8}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= STREAM_AFTER_BYTES && n <= cap ? n : undefined;
}

/** Whether the chunk, found at `offset` in the body, agrees with gzip's magic and method where they overlap. */
function agreesWithGzipMagic(chunk: Buffer, offset: number): boolean {
  for (let i = offset; i < GZIP_MAGIC.length && i - offset < chunk.length; i++) {
    if (chunk[i - offset] !== GZIP_MAGIC[i]) return false;
  }
  return true;
}

/**
 * Inflates a whole gzip stream (one or more members) held in memory: in one pass on this thread
 * when its trailer says it fits PASS_OUTPUT_BYTES, and it does; otherwise (or when the trailer
 * lied) on the thread pool in pieces, with room reserved for a whole batch first.
 */
async function inflateWhole(compressed: Buffer, maxBytes: number, budget: BodyBudget): Promise<Buffer> {
  const { lease, waitMs } = budget;
  // The last member's size mod 2^32 (RFC 1952 ISIZE): the whole output for a single-member body.
  // Only a hint: joined or lying members take the thread pool, and maxOutputLength caps the pass.
  const hint = compressed.length >= 18 ? compressed.readUInt32LE(compressed.length - 4) : 0;
  const passBytes = Math.min(PASS_OUTPUT_BYTES, maxBytes);
  if (hint <= passBytes) {
    await reserveOrThrow(lease, passBytes, waitMs);
    let out: Buffer | undefined;
    try {
      out = inflateInOnePass(compressed, passBytes, hint);
    } catch (err) {
      const e = inflateError(err as Error);
      lease.shrink(passBytes);
      if (!(e instanceof BodyTooLarge) || passBytes === maxBytes) throw e;
    }
    if (out) return out;
  }
  await reserveOrThrow(lease, maxBytes, waitMs);
  // Output pieces the trailer's size: a batch that tells the truth is one piece, nothing to join
  // (no second copy for the collector); the room for them is reserved whatever the trailer says.
  const stream = streamingGunzip(maxBytes, lease, Math.min(Math.max(hint + 1, STREAM_PIECE_BYTES), maxBytes + 1));
  stream.end(compressed);
  return stream.done;
}

async function reserveOrThrow(lease: Lease, bytes: number, waitMs: number): Promise<void> {
  const started = Date.now();
  if (!(await lease.reserve(bytes, waitMs))) throw new BudgetExhausted(bytes, lease.limit, Date.now() - started);
}

/**
 * Inflates into at most maxBytes in one pass on this thread (BodyTooLarge past it), its output
 * sized from the trailer's hint: ISA-L's inflate where the addon is built (about half zlib's
 * time), else gunzipSync.
 */
export function inflateInOnePass(compressed: Buffer, maxBytes: number, hint: number, gunzipInto: GunzipInto | 'zlib' = isalGunzipInto ?? 'zlib'): Buffer {
  // One byte more than the output, or the inflater would take another step to learn that nothing follows.
  const size = Math.min(Math.max(hint + 1, MIN_PASS_PIECE_BYTES), maxBytes + 1);
  if (gunzipInto === 'zlib') return gunzipSync(compressed, { chunkSize: size, maxOutputLength: maxBytes });
  let out = Buffer.allocUnsafe(size);
  let written = gunzipInto(compressed, out);
  if (written === -1 && size <= maxBytes) {
    // The hint lied low (joined members, or a forged trailer): once more with room for the cap.
    out = Buffer.allocUnsafe(maxBytes + 1);
    written = gunzipInto(compressed, out);
  }
  if (written === -1 || written > maxBytes) throw new BodyTooLarge();
  return written === out.length ? out : out.subarray(0, written);
}

interface StreamingGunzip {
  /** False when the caller should wait for drained() before writing more. */
  write(chunk: Buffer): boolean;
  /** Resolves when gunzip takes more input, or is gone. */
  drained(): Promise<void>;
  end(chunk?: Buffer): void;
  destroy(): void;
  /** The whole output, or BodyTooLarge / BodyMalformed. */
  readonly done: Promise<Buffer>;
}

/**
 * A gunzip on zlib's thread pool, fed as the body arrives, its output counted against maxBytes and
 * joined in steps. Output it drops (over maxBytes, or broken gzip) is retired from the lease:
 * counted until the collector frees it.
 */
function streamingGunzip(maxBytes: number, lease: Lease, pieceBytes = STREAM_PIECE_BYTES): StreamingGunzip {
  const g: Gunzip = createGunzip({ chunkSize: pieceBytes });
  const pieces: Buffer[] = [];
  const drop = (): void => {
    lease.retire(pieces);
    pieces.length = 0;
  };
  const done = new Promise<Buffer[]>((resolve, reject) => {
    let size = 0;
    g.on('data', (piece: Buffer) => {
      size += piece.length;
      pieces.push(piece);
      if (size > maxBytes) {
        g.destroy();
        drop();
        return reject(new BodyTooLarge());
      }
    });
    g.once('error', (err) => {
      drop();
      reject(inflateError(err));
    });
    g.once('end', () => resolve(pieces));
  }).then(async (output) => {
    const joined = await joinInSteps(output);
    // Copied into one buffer: the pieces are garbage now.
    if (output.length > 1 && joined.buffer !== output[0]!.buffer) lease.retire(output);
    return joined;
  });
  return {
    write: (chunk) => g.write(chunk),
    drained: () =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          g.off('drain', done);
          g.off('close', done);
          resolve();
        };
        g.on('drain', done);
        g.on('close', done);
      }),
    end: (chunk) => (chunk ? g.end(chunk) : g.end()),
    destroy: () => g.destroy(),
    done,
  };
}

function inflateError(err: Error): Error {
  if (err instanceof BodyTooLarge || err instanceof BodyMalformed) return err;
  return (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? new BodyTooLarge() : new BodyMalformed(err.message);
}
