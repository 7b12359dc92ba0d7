// carbon's pickle protocol, decoded without a general unpickler. A frame's body (after its 4-byte
// big-endian length, which the listener reads) is a pickled list of `(path, (timestamp, value))`,
// as carbon-relay and carbon-aggregator send it: `pickle.dumps(datapoints, protocol=2)` in carbon's
// client.py. Only the opcodes such a sender emits are run, on a small stack machine that builds
// nothing but strings, numbers, tuples and one kind of list; anything else (GLOBAL, REDUCE, BUILD,
// INST, OBJ, ...) refuses the whole frame with a reason. The result is Graphite plaintext,
// `path value timestamp\n` per data point, which the caller validates like any other input.
//
// Opcodes run (what Python 3 and Python 2 emit for that list at protocol 2): PROTO, EMPTY_LIST,
// MARK, APPEND(S), TUPLE2, BINPUT/LONG_BINPUT and BINGET/LONG_BINGET (the memo: a repeated path or
// tuple), BINUNICODE/SHORT_BINUNICODE (str), BINSTRING/SHORT_BINSTRING (Python 2 str), BINFLOAT,
// BININT/BININT1/BININT2/LONG1, STOP.
//
// Bounds, so a hostile frame costs at most a fixed multiple of its length: the memo is dense (an
// index is the next one or one already set, as the pickler writes them) and capped, marks and tuple
// nesting are capped, and the plaintext made of a frame is capped (a memoised path repeated by
// 2-byte BINGETs would otherwise expand a 1 MiB frame into gigabytes).
import { PolymurError } from '../errors.js';
import type { InvalidReason } from './lines.js';

/** Why a frame was refused: the `reason` label of polymur_pickle_frames_refused_total. */
export const PICKLE_REFUSALS = ['too_large', 'protocol', 'opcode', 'truncated', 'malformed', 'memo', 'depth', 'expansion'] as const;
export type PickleRefusal = (typeof PICKLE_REFUSALS)[number];

export class PickleRefusedError extends PolymurError {
  readonly code = 'POLYMUR_ERR_PICKLE_REFUSED';
  constructor(
    readonly reason: PickleRefusal,
    /** Where in the frame's body the decoder stopped. */
    readonly offset: number,
    detail: string,
  ) {
    super(`pickle frame refused (${reason}) at byte ${offset}: ${detail}`);
  }
}

export interface PickleLimits {
  /** The most plaintext bytes one frame may become. */
  readonly maxOutputBytes: number;
}

export interface DecodedPickle {
  /** `path value timestamp\n` for each data point, not yet validated. */
  readonly data: Buffer;
  readonly points: number;
}

/** A data point carbon itself would skip (not `(path, (timestamp, value))`, a NaN value): the path when there is one. */
export type OnInvalidPoint = (path: Buffer, reason: InvalidReason) => void;

/** carbon's pickler needs one mark at a time and tuples two deep. */
const MAX_MARKS = 4;
const MAX_TUPLE_DEPTH = 4;
/** About four entries a data point (path, two tuples, the list): far above carbon's 500 points a message. */
const MAX_MEMO_ENTRIES = 1 << 18;

const OP = {
  PROTO: 0x80,
  STOP: 0x2e,
  MARK: 0x28,
  EMPTY_LIST: 0x5d,
  APPEND: 0x61,
  APPENDS: 0x65,
  TUPLE2: 0x86,
  BINPUT: 0x71,
  LONG_BINPUT: 0x72,
  BINGET: 0x68,
  LONG_BINGET: 0x6a,
  BININT: 0x4a,
  BININT1: 0x4b,
  BININT2: 0x4d,
  LONG1: 0x8a,
  BINFLOAT: 0x47,
  BINUNICODE: 0x58,
  SHORT_BINUNICODE: 0x8c,
  BINSTRING: 0x54,
  SHORT_BINSTRING: 0x55,
} as const;

/** A string of the frame, by position (no copy). */
class PickleString {
  constructor(
    readonly start: number,
    readonly end: number,
  ) {}
}

class PickleTuple {
  constructor(
    readonly first: Value,
    readonly second: Value,
    readonly depth: number,
  ) {}
}

class PickleList {
  readonly items: Value[] = [];
}

type Value = number | PickleString | PickleTuple | PickleList;

function depthOf(v: Value): number {
  return v instanceof PickleTuple ? v.depth : 0;
}

/** The longest text of a number: a sign, 17 significant digits, a point and an exponent (`-1.2345678901234567e-308`). */
const MAX_NUMBER_CHARS = 24;

/** The frame's plaintext, grown by doubling up to the limit. */
class LineWriter {
  private buf: Buffer;
  private at = 0;
  constructor(
    initial: number,
    private readonly max: number,
    private readonly frame: Buffer,
  ) {
    this.buf = Buffer.allocUnsafe(Math.min(Math.max(initial, 64), max));
  }

  /** Room for `bytes` more; refuses past the limit. */
  private room(bytes: number, offset: number): void {
    const need = this.at + bytes;
    if (need <= this.buf.length) return;
    if (need > this.max) throw new PickleRefusedError('expansion', offset, `the frame's data points make more than ${this.max} bytes of plaintext`);
    const grown = Buffer.allocUnsafe(Math.min(Math.max(need, this.buf.length * 2), this.max));
    this.buf.copy(grown, 0, 0, this.at);
    this.buf = grown;
  }

  /** One line, `path value timestamp\n`. */
  line(path: PickleString, value: number, timestamp: number, offset: number): void {
    this.room(path.end - path.start + 2 * MAX_NUMBER_CHARS + 3, offset);
    this.at += this.frame.copy(this.buf, this.at, path.start, path.end);
    this.buf[this.at++] = 0x20;
    this.number(value);
    this.buf[this.at++] = 0x20;
    this.number(timestamp);
    this.buf[this.at++] = 0x0a;
  }

  /**
   * A number as carbon's float() holds it, in the shortest text that reads back as the same double
   * (JavaScript's and Python's repr agree on the digits; -0 keeps its sign). Integers, as every
   * timestamp, are written digit by digit: no string per data point.
   */
  private number(v: number): void {
    if (!Number.isSafeInteger(v) || Object.is(v, -0)) {
      this.at += this.buf.write(Object.is(v, -0) ? '-0' : String(v), this.at, 'latin1');
      return;
    }
    let n = v;
    if (n < 0) {
      this.buf[this.at++] = 0x2d;
      n = -n;
    }
    const start = this.at;
    do {
      this.buf[this.at++] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    } while (n > 0);
    this.buf.subarray(start, this.at).reverse();
  }

  result(): Buffer {
    return this.buf.subarray(0, this.at);
  }
}

/** A path carbon would turn into a whisper file our plaintext can carry: no byte a line cannot hold. */
function isLinePath(frame: Buffer, s: PickleString): boolean {
  if (s.end === s.start) return false;
  for (let i = s.start; i < s.end; i++) {
    const c = frame[i]!;
    if (c <= 0x20 || c === 0x7f) return false;
  }
  return true;
}

/** Python's int from n bytes, little-endian two's complement (LONG1), as float() rounds it. */
function readLong(frame: Buffer, start: number, n: number): number {
  if (n === 0) return 0;
  let big = 0n;
  for (let i = n - 1; i >= 0; i--) big = (big << 8n) | BigInt(frame[start + i]!);
  return Number(BigInt.asIntN(n * 8, big));
}

/**
 * Decodes one frame body into plaintext lines. Throws PickleRefusedError for a frame that is not
 * what carbon's senders emit; a data point carbon would skip is skipped and told to onInvalid.
 */
export function decodePickle(frame: Buffer, limits: PickleLimits, onInvalid?: OnInvalidPoint): DecodedPickle {
  const stack: Value[] = [];
  const marks: number[] = [];
  const memo: Value[] = [];
  const end = frame.length;
  let pos = 0;
  let op = 0;
  let opAt = 0;

  const refuse = (reason: PickleRefusal, detail: string): never => {
    throw new PickleRefusedError(reason, opAt, detail);
  };
  /** The next n bytes' start, refusing a frame that ends first. */
  const take = (n: number): number => {
    if (n < 0 || pos + n > end) refuse('truncated', `opcode 0x${op.toString(16)} needs ${n} bytes, ${end - pos} left`);
    const at = pos;
    pos += n;
    return at;
  };
  /** The bottom of the stack an opcode may reach: the last mark's, as Python's unpickler sees it. */
  const floor = (): number => (marks.length > 0 ? marks[marks.length - 1]! : 0);
  const pop = (): Value => {
    if (stack.length <= floor()) refuse('malformed', 'stack underflow');
    return stack.pop()!;
  };
  const put = (index: number): void => {
    if (stack.length === 0) refuse('malformed', 'memo put with an empty stack');
    if (index > memo.length) refuse('memo', `memo index ${index} skips ${index - memo.length} entries`);
    if (index >= MAX_MEMO_ENTRIES) refuse('memo', `memo index ${index} over ${MAX_MEMO_ENTRIES}`);
    memo[index] = stack[stack.length - 1]!;
  };
  const get = (index: number): void => {
    if (index >= memo.length) refuse('memo', `memo index ${index} was never set`);
    stack.push(memo[index]!);
  };

  if (end < 2 || frame[0] !== OP.PROTO || (frame[1] !== 2 && frame[1] !== 3)) {
    refuse('protocol', `a frame starts with PROTO 2 (0x80 0x02), not ${frame.subarray(0, 2).toString('hex') || 'nothing'}`);
  }
  pos = 2;
  for (;;) {
    if (pos >= end) {
      opAt = pos;
      refuse('truncated', 'the frame ends before STOP');
    }
    opAt = pos;
    op = frame[pos++]!;
    switch (op) {
      case OP.STOP: {
        if (pos !== end) refuse('malformed', `${end - pos} bytes after STOP`);
        if (marks.length > 0 || stack.length !== 1 || !(stack[0] instanceof PickleList)) refuse('malformed', 'STOP without exactly one list on the stack');
        return writeLines(frame, (stack[0] as PickleList).items, limits, onInvalid, opAt);
      }
      case OP.MARK:
        if (marks.length >= MAX_MARKS) refuse('depth', `more than ${MAX_MARKS} marks open`);
        marks.push(stack.length);
        break;
      case OP.EMPTY_LIST:
        stack.push(new PickleList());
        break;
      case OP.APPEND: {
        const item = pop();
        const list = stack.length > floor() ? stack[stack.length - 1] : undefined;
        if (!(list instanceof PickleList)) refuse('malformed', 'APPEND to something that is not a list');
        (list as PickleList).items.push(item);
        break;
      }
      case OP.APPENDS: {
        if (marks.length === 0) refuse('malformed', 'APPENDS without MARK');
        const mark = marks.pop()!;
        if (mark === 0 || mark - 1 < floor()) refuse('malformed', 'APPENDS without a list below its mark');
        const list = stack[mark - 1];
        if (!(list instanceof PickleList)) refuse('malformed', 'APPENDS to something that is not a list');
        for (let i = mark; i < stack.length; i++) (list as PickleList).items.push(stack[i]!);
        stack.length = mark;
        break;
      }
      case OP.TUPLE2: {
        const second = pop();
        const first = pop();
        const depth = 1 + Math.max(depthOf(first), depthOf(second));
        if (depth > MAX_TUPLE_DEPTH) refuse('depth', `tuples nested more than ${MAX_TUPLE_DEPTH} deep`);
        stack.push(new PickleTuple(first, second, depth));
        break;
      }
      case OP.BINPUT:
        put(frame[take(1)]!);
        break;
      case OP.LONG_BINPUT:
        put(frame.readUInt32LE(take(4)));
        break;
      case OP.BINGET:
        get(frame[take(1)]!);
        break;
      case OP.LONG_BINGET:
        get(frame.readUInt32LE(take(4)));
        break;
      case OP.BININT:
        stack.push(frame.readInt32LE(take(4)));
        break;
      case OP.BININT1:
        stack.push(frame[take(1)]!);
        break;
      case OP.BININT2:
        stack.push(frame.readUInt16LE(take(2)));
        break;
      case OP.LONG1: {
        const n = frame[take(1)]!;
        stack.push(readLong(frame, take(n), n));
        break;
      }
      case OP.BINFLOAT:
        stack.push(frame.readDoubleBE(take(8)));
        break;
      case OP.BINUNICODE:
      case OP.BINSTRING: {
        // BINSTRING's length is signed (Python 2's cPickle refuses a negative one).
        const n = op === OP.BINSTRING ? frame.readInt32LE(take(4)) : frame.readUInt32LE(take(4));
        const start = take(n);
        stack.push(new PickleString(start, start + n));
        break;
      }
      case OP.SHORT_BINUNICODE:
      case OP.SHORT_BINSTRING: {
        const n = frame[take(1)]!;
        const start = take(n);
        stack.push(new PickleString(start, start + n));
        break;
      }
      default:
        refuse('opcode', `opcode 0x${op.toString(16)} is not one carbon's senders emit`);
    }
  }
}

/** The list's `(path, (timestamp, value))` items as lines; others are skipped, as carbon skips them. */
function writeLines(frame: Buffer, items: readonly Value[], limits: PickleLimits, onInvalid: OnInvalidPoint | undefined, offset: number): DecodedPickle {
  const out = new LineWriter(frame.length * 2, limits.maxOutputBytes, frame);
  let points = 0;
  for (const item of items) {
    const datapoint = item instanceof PickleTuple ? item.second : undefined;
    const path = item instanceof PickleTuple ? item.first : undefined;
    if (!(path instanceof PickleString) || !(datapoint instanceof PickleTuple) || typeof datapoint.first !== 'number' || typeof datapoint.second !== 'number') {
      onInvalid?.(path instanceof PickleString ? frame.subarray(path.start, path.end) : Buffer.alloc(0), 'fields');
      continue;
    }
    const timestamp = datapoint.first;
    const value = datapoint.second;
    const reason: InvalidReason | undefined = !isLinePath(frame, path) ? 'name' : !Number.isFinite(value) ? 'value' : !Number.isFinite(timestamp) ? 'timestamp' : undefined;
    if (reason !== undefined) {
      onInvalid?.(frame.subarray(path.start, path.end), reason);
      continue;
    }
    out.line(path, value, timestamp, offset);
    points++;
  }
  return { data: out.result(), points };
}
