// Graphite plaintext validation on Buffers: `<metric.path> <value> <timestamp>\n`. Every line is
// checked byte by byte, no string or object per line. What carbon would reject, or store wrongly,
// is dropped and reported through onInvalid; what passes is handed on as byte ranges, copied only
// when the output must differ from the input (a dropped line, a CR, a prefix). The proxy, the relay
// and the gateway all validate with filterLines.
//
// The rules, against carbon 1.1 (protocols.py: `line.decode('utf-8')`, `float(timestamp)`,
// `float(value)`; database.py: the name becomes a file path, dots turned into `/`):
// - name: no control byte (< 0x20, 0x7f: they would end up in a file name), no `/` (carbon would
//   write `a/b` into the file of `a.b`, a series graphite-web cannot find under that name), valid
//   UTF-8 without Unicode whitespace (carbon drops a line it cannot decode, or splits it elsewhere);
// - value: a number as Python's float() reads it (`1_000` too), finite (1e999 and 400-digit numbers
//   are inf, `inf` itself: carbon would store them, graphite cannot draw them), ASCII digits only;
// - timestamp: a finite number whose integer part is -1 (carbon's "now") or 0 to 2^32-1 (whisper
//   stores timestamps as unsigned 32-bit; anything later is absurd for a data point).

import { isUtf8 } from 'node:buffer';
import { nativeLines, RUN_COUNT_UNIT } from './native-lines.js';
import { findSuspectBytes, type SuspectBytes } from './suspect-bytes.js';

/** Why a line was dropped: the `reason` label of polymur_points_invalid_total. */
export const INVALID_REASONS = ['fields', 'name', 'value', 'timestamp', 'too_long'] as const;
export type InvalidReason = (typeof INVALID_REASONS)[number];
/** The label sets of `polymur_points_invalid_total`, shown at 0 from the start. */
export const INVALID_REASON_LABELS = INVALID_REASONS.map((reason) => ({ reason }));

export interface FilterResult {
  readonly data: Buffer;
  readonly points: number;
  readonly invalid: number;
}

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const SLASH = 0x2f;
const EMPTY = Buffer.alloc(0);
/**
 * Buffer's indexOf taken once: `buf.indexOf` looked up on each call goes through a megamorphic
 * property load (socket chunks and Buffers made in JavaScript have different maps), per line.
 */
const indexOf = Buffer.prototype.indexOf;

function isBlank(c: number): boolean {
  return c === SPACE || c === TAB;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * Where the number starting at buf[start] ends (at most at end), or -1 when no number starts
 * there. A number as Python's float() reads it, without nan/inf (carbon drops NaN, and an
 * infinite value cannot be stored): optional sign, digits with an optional fraction, optional exponent.
 */
function numberEnd(buf: Buffer, start: number, end: number): number {
  let i = start;
  if (i < end && (buf[i] === 0x2b || buf[i] === 0x2d)) i++;
  let next = digitsEnd(buf, i, end);
  let digits = next - i;
  i = next;
  if (i < end && buf[i] === 0x2e) {
    i++;
    next = digitsEnd(buf, i, end);
    digits += next - i;
    i = next;
  }
  if (digits === 0) return -1;
  if (i < end && (buf[i] === 0x65 || buf[i] === 0x45)) {
    i++;
    if (i < end && (buf[i] === 0x2b || buf[i] === 0x2d)) i++;
    next = digitsEnd(buf, i, end);
    if (next === i) return -1;
    i = next;
  }
  return i;
}

const UNDERSCORE = 0x5f;

/**
 * Where the digits starting at buf[start] end: Python's digitpart, digit (["_"] digit)*, so
 * `1_000` as float() (and carbon) reads it; an underscore stands only between two digits.
 */
function digitsEnd(buf: Buffer, start: number, end: number): number {
  let i = start;
  while (i < end) {
    if (isDigit(buf[i]!)) i++;
    else if (buf[i] === UNDERSCORE && i > start && i + 1 < end && isDigit(buf[i + 1]!)) i += 2;
    else break;
  }
  return i;
}

/** The number buf[start, end) holds, NaN when it is not exactly one number (see numberEnd). */
function numberValue(buf: Buffer, start: number, end: number): number {
  if (numberEnd(buf, start, end) !== end) return NaN;
  // A string, but only here on the slow path: the fast path never evaluates a number this way.
  const text = buf.toString('latin1', start, end);
  return Number(text.includes('_') ? text.replace(/_/g, '') : text);
}

/** buf[start, end) is exactly one finite number, as carbon reads and whisper stores it. */
export function isNumber(buf: Buffer, start: number, end: number): boolean {
  return Number.isFinite(numberValue(buf, start, end));
}

/** The latest timestamp accepted: whisper stores timestamps as unsigned 32-bit integers. */
export const MAX_TIMESTAMP = 2 ** 32 - 1;

/** carbon's timestamp, int(float(text)): -1 (carbon's "now") or 0 to MAX_TIMESTAMP. */
function isTimestamp(buf: Buffer, start: number, end: number): boolean {
  const t = Math.trunc(numberValue(buf, start, end));
  return t === -1 || (t >= 0 && t <= MAX_TIMESTAMP);
}

/**
 * Python's str.split() separators beyond ASCII (carbon splits the decoded line with it): a name
 * holding one would be read by carbon as several fields.
 */
const UNICODE_SPACE = /[\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

/** The metric name buf[start, end) may become a whisper file name (see the rules at the top). */
function isValidName(buf: Buffer, start: number, end: number): boolean {
  let ascii = true;
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    if (c < 0x20 || c === 0x7f || c === SLASH) return false;
    if (c >= 0x80) ascii = false;
  }
  if (ascii) return true;
  const name = buf.subarray(start, end);
  return isUtf8(name) && !UNICODE_SPACE.test(name.toString('utf8'));
}

/** Why the line buf[start, end) (no LF, no trailing CR) is invalid, or null when it is valid or blank. */
export function checkLine(buf: Buffer, start: number, end: number): InvalidReason | null | 'blank' {
  let i = start;
  while (i < end && isBlank(buf[i]!)) i++;
  if (i === end) return 'blank';
  // Field 1: the metric path, anything up to whitespace.
  const nameStart = i;
  while (i < end && !isBlank(buf[i]!)) i++;
  const nameEnd = i;
  while (i < end && isBlank(buf[i]!)) i++;
  if (i === end) return 'fields';
  const valueStart = i;
  while (i < end && !isBlank(buf[i]!)) i++;
  const valueEnd = i;
  while (i < end && isBlank(buf[i]!)) i++;
  if (i === end) return 'fields';
  const tsStart = i;
  while (i < end && !isBlank(buf[i]!)) i++;
  const tsEnd = i;
  while (i < end && isBlank(buf[i]!)) i++;
  if (i !== end) return 'fields';
  if (!isValidName(buf, nameStart, nameEnd)) return 'name';
  if (!isNumber(buf, valueStart, valueEnd)) return 'value';
  if (!isTimestamp(buf, tsStart, tsEnd)) return 'timestamp';
  return null;
}

/**
 * The most bytes a plain value (digits and a point, no exponent) may have to be certainly finite:
 * the largest double has 309 integer digits. Longer ones go to checkLine, which evaluates them.
 */
const MAX_PLAIN_VALUE_BYTES = 308;

/**
 * Where the number starting at buf[start] ends when it has the form values nearly always take —
 * an optional sign, digits, an optional fraction — or -1 for any other form, which numberEnd
 * reads in full. Small, so the per-line fast path inlines it (numberEnd is a call).
 */
function plainNumberEnd(buf: Buffer, start: number, end: number): number {
  let i = start;
  if (i < end && (buf[i] === 0x2d || buf[i] === 0x2b)) i++;
  const digitsStart = i;
  while (i < end && isDigit(buf[i]!)) i++;
  let digits = i - digitsStart;
  if (i < end && buf[i] === 0x2e) {
    const fractionStart = ++i;
    while (i < end && isDigit(buf[i]!)) i++;
    digits += i - fractionStart;
  }
  return digits > 0 ? i : -1;
}

/**
 * buf[start, end) is a timestamp of the form they nearly always take — digits, an optional
 * fraction, no sign — between 0 and MAX_TIMESTAMP. false: checkLine reads it in full.
 */
function isPlainTimestamp(buf: Buffer, start: number, end: number): boolean {
  let i = start;
  let seconds = 0;
  while (i < end && isDigit(buf[i]!)) seconds = seconds * 10 + buf[i++]! - 0x30;
  if (i === start || seconds > MAX_TIMESTAMP) return false;
  if (i < end && buf[i] === 0x2e) {
    i++;
    while (i < end && isDigit(buf[i]!)) i++;
  }
  return i === end;
}

/**
 * The shape nearly every line has — `name value timestamp`, one space between fields, no suspect
 * byte (the caller knows: no tab, control byte, `/` or Unicode space, valid UTF-8), plain numbers —
 * checked with a native search and two short digit loops. true: valid; false: the line needs
 * checkLine's full reading, which gives the same verdict on every line true is given for.
 */
function isPlainValidLine(buf: Buffer, start: number, end: number): boolean {
  const nameEnd = indexOf.call(buf, SPACE, start);
  if (nameEnd <= start || nameEnd >= end) return false;
  // The value is read where it stands: it must end at a space, and the timestamp at the line's end.
  const valueStart = nameEnd + 1;
  const valueEnd = plainNumberEnd(buf, valueStart, end);
  return valueEnd !== -1 && valueEnd < end && buf[valueEnd] === SPACE && valueEnd - valueStart <= MAX_PLAIN_VALUE_BYTES && isPlainTimestamp(buf, valueEnd + 1, end);
}

/**
 * Lines read here after a native call that settled none, before it is asked again, doubled at each
 * miss in a row up to the most: a batch whose every line is unusual (CRLF endings, names beyond
 * ASCII) pays a call per few hundred lines, not per line.
 */
const NATIVE_BACKOFF_LINES = 16;
const MAX_NATIVE_BACKOFF_LINES = 1024;

/** Collects output pieces; copies only when the output differs from the input. */
class Output {
  private readonly pieces: Buffer[] = [];
  private bytes = 0;

  add(piece: Buffer): void {
    this.pieces.push(piece);
    this.bytes += piece.length;
  }

  result(): Buffer {
    if (this.pieces.length === 0) return EMPTY;
    if (this.pieces.length === 1) return this.pieces[0]!;
    return Buffer.concat(this.pieces, this.bytes);
  }
}

const NEWLINE = Buffer.from('\n');

/** The longest Graphite line accepted (not counting its LF), on the listeners and at the gateway. */
export const MAX_LINE_BYTES = 16 * 1024;

/**
 * Validates every line of buf[start, end) (a final line without LF counts as a line). Returns
 * only the valid lines, each ending in exactly "\n" (a trailing "\r" removed), each prefixed with
 * `prefix` when given (joined to the metric name, leading blanks dropped). A line longer than
 * maxLineBytes (not counting its LF) is dropped as too_long. When nothing needs changing, returns
 * a zero-copy subarray. onInvalid gets the offending line as a subarray valid only during the call.
 */
export function filterLines(
  buf: Buffer,
  start: number,
  end: number,
  prefix?: Buffer,
  onInvalid?: (line: Buffer, reason: InvalidReason) => void,
  maxLineBytes = Infinity,
): FilterResult {
  const out = new Output();
  // The run of consecutive unchanged valid lines not yet added to the output.
  let runStart = start;
  let points = 0;
  let invalid = 0;
  let pos = start;
  const hasPrefix = prefix !== undefined && prefix.length > 0;
  // Runs of plain lines (nearly all of them) are settled in C, one call a run; what stops a run is
  // read here. A prefix changes every line, so then every line is read here.
  const native = hasPrefix ? undefined : nativeLines;
  // Found on the first line read here: a batch the native pass settles whole never needs them.
  let suspects: SuspectBytes | undefined;
  // The next suspect byte at or after pos: asked for again only once passed (one comparison a line).
  let nextSuspect = -1;
  // Lines to read here before the native pass is asked again, and how many after its next miss.
  let readHere = 0;
  let backoff = NATIVE_BACKOFF_LINES;

  while (pos < end) {
    if (native !== undefined) {
      if (readHere === 0) {
        const run = native.plainRun(buf, pos, end, maxLineBytes);
        const count = Math.floor(run / RUN_COUNT_UNIT);
        points += count;
        pos = run - count * RUN_COUNT_UNIT;
        if (pos >= end) break;
        // None settled: this batch may be all unusual lines; ask less and less often.
        readHere = count === 0 ? backoff : 1;
        backoff = count === 0 ? Math.min(2 * backoff, MAX_NATIVE_BACKOFF_LINES) : NATIVE_BACKOFF_LINES;
      }
      readHere--;
    }
    suspects ??= findSuspectBytes(buf, start, end);
    let nl = indexOf.call(buf, LF, pos);
    if (nl === -1 || nl >= end) nl = end;
    let lineEnd = nl;
    const hasCr = lineEnd > pos && buf[lineEnd - 1] === CR;
    if (hasCr) lineEnd--;
    if (nextSuspect < pos) nextSuspect = suspects.next(pos);
    const verdict = nl - pos > maxLineBytes ? 'too_long' : nextSuspect >= lineEnd && isPlainValidLine(buf, pos, lineEnd) ? null : checkLine(buf, pos, lineEnd);
    const next = nl < end ? nl + 1 : end;

    if (verdict === null && !hasCr && !hasPrefix && nl < end) {
      // Unchanged: it stays in the current run.
      points++;
    } else {
      if (runStart < pos) out.add(buf.subarray(runStart, pos));
      if (verdict === null) {
        points++;
        let lineStart = pos;
        if (hasPrefix) {
          out.add(prefix);
          while (isBlank(buf[lineStart]!)) lineStart++;
        }
        out.add(buf.subarray(lineStart, lineEnd));
        out.add(NEWLINE);
      } else if (verdict !== 'blank') {
        invalid++;
        onInvalid?.(buf.subarray(pos, lineEnd), verdict);
      }
      runStart = next;
    }
    pos = next;
  }
  if (runStart < end) out.add(buf.subarray(runStart, end));
  return { data: out.result(), points, invalid };
}
