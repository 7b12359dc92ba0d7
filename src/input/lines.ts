// Graphite plaintext validation on Buffers: `<metric.path> <value> <timestamp>\n`. Every line is
// checked byte by byte, no string or object per line. What carbon would reject is dropped and
// reported through onInvalid; what passes is handed on as byte ranges, copied only when the
// output must differ from the input (a dropped line, a CR, a prefix).

export const INVALID_REASONS = ['fields', 'value', 'timestamp', 'too_long'] as const;
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
  let digits = 0;
  while (i < end && isDigit(buf[i]!)) {
    i++;
    digits++;
  }
  if (i < end && buf[i] === 0x2e) {
    i++;
    while (i < end && isDigit(buf[i]!)) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return -1;
  if (i < end && (buf[i] === 0x65 || buf[i] === 0x45)) {
    i++;
    if (i < end && (buf[i] === 0x2b || buf[i] === 0x2d)) i++;
    let exp = 0;
    while (i < end && isDigit(buf[i]!)) {
      i++;
      exp++;
    }
    if (exp === 0) return -1;
  }
  return i;
}

/** buf[start, end) is exactly one number (see numberEnd). */
export function isNumber(buf: Buffer, start: number, end: number): boolean {
  return numberEnd(buf, start, end) === end;
}

/** Why the line buf[start, end) (no LF, no trailing CR) is invalid, or null when it is valid or blank. */
export function checkLine(buf: Buffer, start: number, end: number): InvalidReason | null | 'blank' {
  let i = start;
  while (i < end && isBlank(buf[i]!)) i++;
  if (i === end) return 'blank';
  // Field 1: the metric path, anything up to whitespace.
  while (i < end && !isBlank(buf[i]!)) i++;
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
  if (!isNumber(buf, valueStart, valueEnd)) return 'value';
  if (!isNumber(buf, tsStart, tsEnd)) return 'timestamp';
  return null;
}

/**
 * Where the number starting at buf[start] ends when it has the form values and timestamps nearly
 * always take — an optional sign, digits, an optional fraction — or -1 for any other form, which
 * numberEnd reads in full. Small, so the per-line fast path inlines it (numberEnd is a call).
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
 * The shape nearly every line has — `name value timestamp`, one space between fields, no tab (the
 * caller knows), plain numbers — checked with a native search and two short digit loops. true:
 * valid; false: the line needs checkLine's full reading, which gives the same verdict on every
 * line true is given for.
 */
function isPlainValidLine(buf: Buffer, start: number, end: number): boolean {
  const nameEnd = indexOf.call(buf, SPACE, start);
  if (nameEnd <= start || nameEnd >= end) return false;
  // The value is read where it stands: it must end at a space, and the timestamp at the line's end.
  const valueEnd = plainNumberEnd(buf, nameEnd + 1, end);
  return valueEnd !== -1 && valueEnd < end && buf[valueEnd] === SPACE && plainNumberEnd(buf, valueEnd + 1, end) === end;
}

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
  // The next TAB at or after pos (end when none): searched again only once passed, so lines
  // without one take the fast path at the cost of one scan of the whole buffer.
  let nextTab = -1;

  while (pos < end) {
    let nl = indexOf.call(buf, LF, pos);
    if (nl === -1 || nl >= end) nl = end;
    let lineEnd = nl;
    const hasCr = lineEnd > pos && buf[lineEnd - 1] === CR;
    if (hasCr) lineEnd--;
    if (nextTab < pos) {
      nextTab = indexOf.call(buf, TAB, pos);
      if (nextTab === -1 || nextTab > end) nextTab = end;
    }
    const verdict =
      nl - pos > maxLineBytes
        ? 'too_long'
        : nextTab >= lineEnd && isPlainValidLine(buf, pos, lineEnd)
          ? null
          : checkLine(buf, pos, lineEnd);
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
