// carbon's pickle receiver (what carbon-relay and carbon-aggregator send to their DESTINATIONS):
// frames of a 4-byte big-endian length and a pickled list of data points, on the TCP listener's
// connections (its limits, idle timeout and backpressure: a full batcher pauses the sockets). Each
// frame is decoded to plaintext lines (src/protocol/pickle.ts) and validated like a plaintext line.
// A frame the decoder refuses, or a length over -max-pickle-bytes (refused before its body is
// read), closes the connection: the stream cannot be trusted past it. Counted by reason, logged
// rate-limited.
import { rateLimitedLog } from '../observe/log.js';
import { decodePickle, PICKLE_REFUSALS, PickleRefusedError, type PickleRefusal } from '../protocol/pickle.js';
import type { LineFramer } from '../protocol/framer.js';
import { filterLines, MAX_LINE_BYTES, type InvalidReason } from '../protocol/lines.js';
import { createTcpListener, type TcpListener, type TcpListenerOptions } from './tcp-listener.js';

/** carbon's own PICKLE_RECEIVER_MAX_LENGTH. */
export const DEFAULT_MAX_PICKLE_BYTES = 1 << 20;
/**
 * The most plaintext one frame may become, as a multiple of its length: a frame of carbon's makes
 * at most about three times its size (a path memoised and repeated by BINGET, more); a hostile one
 * could make thousands.
 */
const EXPANSION = 16;

const HEADER_BYTES = 4;

export interface PickleFramerOptions {
  readonly maxFrameBytes: number;
  readonly onRefused: (err: PickleRefusedError) => void;
}

/** One connection's frames, across chunk boundaries; a frame held whole in one chunk is decoded in place. */
export function createPickleFramer(
  deliver: (data: Buffer, points: number) => void,
  onInvalid: (line: Buffer, reason: InvalidReason) => void,
  cut: () => void,
  opts: PickleFramerOptions,
): LineFramer {
  const header = Buffer.alloc(HEADER_BYTES);
  let headerHave = 0;
  /** The frame being read when its body spans chunks, and how much of it is here. */
  let body: Buffer | undefined;
  let bodyHave = 0;
  let refused = false;

  const refuse = (err: PickleRefusedError): void => {
    refused = true;
    body = undefined;
    opts.onRefused(err);
    cut();
  };
  const decode = (frame: Buffer): void => {
    try {
      const decoded = decodePickle(frame, { maxOutputBytes: EXPANSION * opts.maxFrameBytes }, onInvalid);
      const lines = filterLines(decoded.data, 0, decoded.data.length, undefined, onInvalid, MAX_LINE_BYTES);
      if (lines.points > 0) deliver(lines.data, lines.points);
    } catch (err) {
      if (!(err instanceof PickleRefusedError)) throw err;
      refuse(err);
    }
  };

  return {
    push(chunk) {
      let at = 0;
      while (at < chunk.length && !refused) {
        if (body === undefined) {
          const n = Math.min(HEADER_BYTES - headerHave, chunk.length - at);
          chunk.copy(header, headerHave, at, at + n);
          headerHave += n;
          at += n;
          if (headerHave < HEADER_BYTES) return;
          headerHave = 0;
          const length = header.readUInt32BE(0);
          if (length > opts.maxFrameBytes) {
            return refuse(new PickleRefusedError('too_large', 0, `a frame of ${length} bytes, over -max-pickle-bytes ${opts.maxFrameBytes}`));
          }
          if (chunk.length - at >= length) {
            decode(chunk.subarray(at, at + length));
            at += length;
            continue;
          }
          body = Buffer.allocUnsafe(length);
          bodyHave = 0;
        }
        const n = Math.min(body.length - bodyHave, chunk.length - at);
        chunk.copy(body, bodyHave, at, at + n);
        bodyHave += n;
        at += n;
        if (bodyHave === body.length) {
          const frame = body;
          body = undefined;
          decode(frame);
        }
      }
    },
    end() {
      // A frame cut short by the connection's end is not a frame: carbon drops it too.
      body = undefined;
      headerHave = 0;
    },
  };
}

export interface PickleListenerOptions extends Omit<TcpListenerOptions, 'framing' | 'what' | 'maxLineBytes'> {
  readonly maxFrameBytes: number;
}

export async function createPickleListener(opts: PickleListenerOptions): Promise<TcpListener> {
  const refusedFrames = opts.metrics.counter(
    'polymur_pickle_frames_refused_total',
    'Pickle frames refused (the connection closed), by reason',
    PICKLE_REFUSALS.map((reason) => ({ reason })),
  );
  const refusedLog = rateLimitedLog(opts.log);
  const onRefused = (err: PickleRefusedError): void => {
    const reason: PickleRefusal = err.reason;
    refusedFrames.inc(1, { reason });
    refusedLog(`Pickle connection closed: ${err.message}`);
  };
  return createTcpListener({
    ...opts,
    what: { name: 'Pickle', labels: { listener: 'pickle' } },
    framing: (deliver, onInvalid, cut) => createPickleFramer(deliver, onInvalid, cut, { maxFrameBytes: opts.maxFrameBytes, onRefused }),
  });
}
