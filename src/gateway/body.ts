// An /ingest body, read with its compressed size counted against -max-body-bytes and its
// decompressed size against -max-batch-bytes. A body of ordinary size (a proxy batch is under
// 100 KiB) is held whole and inflated in one pass: about half the CPU of a streaming gunzip fed
// chunk by chunk (no thread-pool round trip per chunk, no stream machinery), and,
// sized from the gzip trailer, one output allocation instead of 256 KiB pieces joined by a copy,
// so far less garbage to collect. A larger body is inflated as it streams in, so a gzip bomb is
// cut off at the cap while it is still being sent, never held whole.
import type { IncomingMessage } from 'node:http';
import { createGunzip, gunzipSync } from 'node:zlib';

/** Over -max-body-bytes (compressed) or -max-batch-bytes (decompressed): answered 413. */
export class BodyTooLarge extends Error {
  override readonly name = 'BodyTooLarge';
}

/** Not a gzip stream, or a broken one: answered 400. */
export class BodyMalformed extends Error {
  override readonly name = 'BodyMalformed';
}

export interface BodyLimits {
  /** Compressed bytes, as received. */
  readonly maxBodyBytes: number;
  /** Decompressed bytes. */
  readonly maxBatchBytes: number;
}

export interface Body {
  readonly data: Buffer;
  /** Bytes on the wire (the gzip stream, or the plain body). */
  readonly received: number;
}

/** ID1, ID2 and CM (deflate) of every gzip member (RFC 1952). */
const GZIP_MAGIC = [0x1f, 0x8b, 0x08];
/** Compressed bytes held before the body is inflated as it streams (up to 1,000x that once inflated). */
const STREAM_AFTER_BYTES = 1024 * 1024;
/** Output pieces of the streaming gunzip: a few per batch, not one per 16 KiB. */
const STREAM_PIECE_BYTES = 256 * 1024;
/** The smallest output piece of the one pass: a trailer that lies low must not make a bomb inflate in tiny steps. */
const MIN_PASS_PIECE_BYTES = 64 * 1024;

/**
 * Reads the body. Rejects with BodyTooLarge or BodyMalformed (or the request's error); the request
 * is never destroyed here, so an answer can still be sent (the rest of the body is read and dropped).
 */
export function readBody(req: IncomingMessage, gzip: boolean, limits: BodyLimits): Promise<Body> {
  const cap = gzip ? limits.maxBodyBytes : Math.min(limits.maxBodyBytes, limits.maxBatchBytes);
  return new Promise<Body>((resolve, reject) => {
    const held: Buffer[] = [];
    let received = 0;
    let stream: StreamingGunzip | undefined;
    let settled = false;
    const fail = (err: Error): void => {
      if (settled) return;
      settled = true;
      req.removeListener('data', onData);
      stream?.destroy();
      req.resume();
      reject(err);
    };
    const feed = (chunk: Buffer): void => {
      // Backpressure: a small body may expand a thousandfold; read on only as gunzip keeps up.
      if (!stream!.write(chunk)) {
        req.pause();
        stream!.onDrain(() => req.resume());
      }
    };
    function onData(chunk: Buffer): void {
      // Not gzip at all: refused at its first bytes, not once the body ends or reaches a cap.
      if (gzip && !agreesWithGzipMagic(chunk, received)) return fail(new BodyMalformed('not a gzip stream'));
      received += chunk.length;
      if (received > cap) return fail(new BodyTooLarge());
      if (stream) return feed(chunk);
      held.push(chunk);
      if (gzip && received > STREAM_AFTER_BYTES) {
        stream = streamingGunzip(limits.maxBatchBytes);
        stream.done.catch(fail);
        for (const c of held.splice(0)) feed(c);
      }
    }
    req.on('data', onData);
    req.once('error', fail);
    const finish = (data: Buffer): void => {
      if (settled) return;
      settled = true;
      resolve({ data, received });
    };
    req.once('end', () => {
      if (settled) return;
      if (stream) {
        stream.end();
        return void stream.done.then(finish, fail);
      }
      const whole = held.length === 1 ? held[0]! : Buffer.concat(held, received);
      try {
        finish(gzip ? inflate(whole, limits.maxBatchBytes) : whole);
      } catch (err) {
        fail(err as Error);
      }
    });
  });
}

/** Whether the chunk, found at `offset` in the body, agrees with gzip's magic and method where they overlap. */
function agreesWithGzipMagic(chunk: Buffer, offset: number): boolean {
  for (let i = offset; i < GZIP_MAGIC.length && i - offset < chunk.length; i++) {
    if (chunk[i - offset] !== GZIP_MAGIC[i]) return false;
  }
  return true;
}

/**
 * Inflates a whole gzip stream (one or more members) in one pass, into at most maxBytes; throws
 * BodyTooLarge or BodyMalformed. On this thread: cheaper than a round trip to zlib's thread pool
 * (about 0.05 CPU s per million points), and a proxy batch takes a fraction of a millisecond; the
 * most it can hold the event loop is one -max-batch-bytes inflate of a key holder's bomb.
 */
function inflate(compressed: Buffer, maxBytes: number): Buffer {
  // The last member's size mod 2^32 (RFC 1952 ISIZE): the whole output for a single-member body.
  // Only a hint: a joined or lying body takes more pieces, and maxOutputLength still caps it.
  const hint = compressed.length >= 18 ? compressed.readUInt32LE(compressed.length - 4) : 0;
  // One byte more than the output, or zlib would take another piece to learn that nothing follows.
  const chunkSize = Math.min(Math.max(hint + 1, MIN_PASS_PIECE_BYTES), maxBytes + 1);
  try {
    return gunzipSync(compressed, { chunkSize, maxOutputLength: maxBytes });
  } catch (err) {
    throw inflateError(err as Error);
  }
}

interface StreamingGunzip {
  /** False when the caller should wait for onDrain before writing more. */
  write(chunk: Buffer): boolean;
  onDrain(listener: () => void): void;
  end(): void;
  destroy(): void;
  /** The whole output, or BodyTooLarge / BodyMalformed. */
  readonly done: Promise<Buffer>;
}

/** A gunzip fed as the body arrives, its output counted against maxBytes. */
function streamingGunzip(maxBytes: number): StreamingGunzip {
  const g = createGunzip({ chunkSize: STREAM_PIECE_BYTES });
  const done = new Promise<Buffer>((resolve, reject) => {
    const pieces: Buffer[] = [];
    let size = 0;
    g.on('data', (piece: Buffer) => {
      size += piece.length;
      if (size > maxBytes) {
        g.destroy();
        return reject(new BodyTooLarge());
      }
      pieces.push(piece);
    });
    g.once('error', (err) => reject(inflateError(err)));
    g.once('end', () => resolve(Buffer.concat(pieces, size)));
  });
  return {
    write: (chunk) => g.write(chunk),
    onDrain: (listener) => g.once('drain', listener),
    end: () => g.end(),
    destroy: () => g.destroy(),
    done,
  };
}

function inflateError(err: Error): Error {
  return (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' ? new BodyTooLarge() : new BodyMalformed(err.message);
}
