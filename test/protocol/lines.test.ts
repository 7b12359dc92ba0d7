// Graphite plaintext validation (src/protocol/lines.ts) as a table of lines and verdicts, with the
// numeric rule cross-checked against Python's float(), which is how carbon itself parses a line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { checkLine, filterLines, isNumber, type InvalidReason } from '../../src/protocol/lines.js';

type Verdict = InvalidReason | null | 'blank';

const verdictOf = (line: string): Verdict => {
  const buf = Buffer.from(line, 'latin1');
  return checkLine(buf, 0, buf.length);
};

test('checkLine: a table of good and bad Graphite lines', () => {
  const cases: Array<[string, Verdict]> = [
    ['a.b.c 1 1700000000', null],
    ['a.b.c 1.5 1700000000', null],
    ['a.b.c -1 1700000000', null],
    ['a.b.c +1 1700000000', null],
    ['a.b.c 0 1700000000', null],
    ['a.b.c 1e3 1700000000', null],
    ['a.b.c 1E+3 1700000000', null],
    ['a.b.c -2.5e-3 1700000000', null],
    ['a.b.c .5 1700000000', null],
    ['a.b.c 5. 1700000000', null],
    ['a.b.c 1 1700000000.25', null],
    ['a.b.c 1 1.7e9', null],
    ['a.b\t1\t1700000000', null],
    ['a.b   1   1700000000', null],
    ['a.b \t 1 \t 1700000000', null],
    ['  a.b 1 1700000000', null],
    ['a.b 1 1700000000   ', null],
    ['\ta.b 1 1700000000\t', null],
    ['', 'blank'],
    ['   ', 'blank'],
    ['\t \t', 'blank'],
    ['a.b', 'fields'],
    ['a.b 1', 'fields'],
    ['a.b 1 ', 'fields'],
    ['a.b 1 1700000000 extra', 'fields'],
    ['a b 1 1700000000', 'fields'],
    ['a.b x 1700000000', 'value'],
    ['a.b nan 1700000000', 'value'],
    ['a.b NaN 1700000000', 'value'],
    ['a.b inf 1700000000', 'value'],
    ['a.b -inf 1700000000', 'value'],
    ['a.b Infinity 1700000000', 'value'],
    ['a.b 1e 1700000000', 'value'],
    ['a.b e3 1700000000', 'value'],
    ['a.b . 1700000000', 'value'],
    ['a.b - 1700000000', 'value'],
    ['a.b +-1 1700000000', 'value'],
    ['a.b 0x10 1700000000', 'value'],
    ['a.b 1,5 1700000000', 'value'],
    ['a.b 1.2.3 1700000000', 'value'],
    ['a.b 1e3.5 1700000000', 'value'],
    ['a.b x y', 'value'],
    ['a.b 1 x', 'timestamp'],
    ['a.b 1 nan', 'timestamp'],
    ['a.b 1 inf', 'timestamp'],
    ['a.b 1 2017-01-01', 'timestamp'],
    ['a.b 1 1700000000s', 'timestamp'],
    // Infinite values: carbon's float() overflows them to inf, which whisper would store.
    ['a.b 1e999 1700000000', 'value'],
    ['a.b -1e999 1700000000', 'value'],
    [`a.b ${'9'.repeat(400)} 1700000000`, 'value'],
    [`a.b ${'9'.repeat(308)} 1700000000`, null],
    [`a.b 0.${'0'.repeat(400)}1 1700000000`, null],
    ['a.b 1e308 1700000000', null],
    // Timestamps: -1 is carbon's "now"; other negatives, non-finite and past 2^32-1 (whisper's uint32) go.
    ['a.b 1 -1', null],
    ['a.b 1 -1.5', null],
    ['a.b 1 -0.5', null],
    ['a.b 1 0', null],
    ['a.b 1 +1700000000', null],
    ['a.b 1 4294967295', null],
    ['a.b 1 4294967295.9', null],
    ['a.b 1 4294967296', 'timestamp'],
    ['a.b 1 99999999999', 'timestamp'],
    ['a.b 1 -2', 'timestamp'],
    ['a.b 1 -1700000000', 'timestamp'],
    ['a.b 1 1e999', 'timestamp'],
    ['a.b 1 1e10', 'timestamp'],
    [`a.b 1 ${'1'.repeat(400)}`, 'timestamp'],
    // Names become file names: control bytes, DEL and '/' go; UTF-8 stays unless invalid or a Unicode space.
    ['a\x00b 1 1700000000', 'name'],
    ['\x00 1 1700000000', 'name'],
    ['a.b\x01 1 1700000000', 'name'],
    ['a\x1bb 1 1700000000', 'name'],
    ['a\x7fb 1 1700000000', 'name'],
    ['a\rb 1 1700000000', 'name'],
    ['a\x0bb 1 1700000000', 'name'],
    ['a/b 1 1700000000', 'name'],
    ['/etc/passwd 1 1700000000', 'name'],
    ['a..b 1 1700000000', null],
    ['..a. 1 1700000000', null],
    ['a.b;tag=v 1 1700000000', null],
    [Buffer.from('caf\u00e9.temp 1 1700000000').toString('latin1'), null],
    [Buffer.from('\u6e29\u5ea6 1 1700000000').toString('latin1'), null],
    ['caf\xe9.temp 1 1700000000', 'name'],
    ['a\xc3 1 1700000000', 'name'],
    [Buffer.from('a\u00a0b 1 1700000000').toString('latin1'), 'name'],
    [Buffer.from('a\u3000b 1 1700000000').toString('latin1'), 'name'],
    [Buffer.from('a\u2009b 1 1700000000').toString('latin1'), 'name'],
  ];
  for (const [line, expected] of cases) assert.equal(verdictOf(line), expected, JSON.stringify(line));
});

test('isNumber agrees with Python float() (carbon parses values that way), minus NaN and infinities (1e999, 400 digits)', () => {
  const candidates = [
    '0',
    '1',
    '-1',
    '+1',
    '007',
    '1.5',
    '-1.5',
    '.5',
    '5.',
    '-.5',
    '+5.',
    '1e3',
    '1E3',
    '1e+3',
    '1e-3',
    '-2.5E-03',
    '.5e1',
    '5.e1',
    '123456789012345678901234567890',
    '1.7976931348623157e308',
    '',
    '.',
    '-',
    '+',
    'e',
    'e3',
    '1e',
    '1e+',
    '.e1',
    '+-1',
    '--1',
    '1..2',
    '1.2.3',
    '1e3.5',
    '1e3e3',
    '0x10',
    '0b1',
    '1,5',
    'x',
    'one',
    '1 ',
    ' 1',
    '1f',
    '1d',
    'nan',
    'NaN',
    '-nan',
    'inf',
    '-inf',
    'Infinity',
    '1e999',
    '-1e999',
    '1e308',
    '1.8e308',
    '1e-999',
    '9'.repeat(308),
    '9'.repeat(309),
    '9'.repeat(400),
    `0.${'0'.repeat(400)}1`,
    // Python's digit groups (PEP 515): an underscore between two digits only.
    '1_000',
    '-1_000.000_5',
    '1e1_0',
    '1_0e-0_3',
    '.5_5',
    '1__0',
    '_1',
    '1_',
    '1_.5',
    '1._5',
    '1e_1',
    '1_e1',
    '_',
    '+_1',
  ];
  // What carbon stores: float() succeeds and the value is finite (1e999 overflows to inf).
  const python = `
import json, math, sys
out = []
for s in json.load(sys.stdin):
    try:
        out.append(math.isfinite(float(s)) and s == s.strip())
    except ValueError:
        out.append(False)
print(json.dumps(out))
`;
  const carbonAccepts = JSON.parse(execFileSync('/usr/bin/python3', ['-c', python], { input: JSON.stringify(candidates) }).toString()) as boolean[];
  candidates.forEach((s, i) => {
    const buf = Buffer.from(s, 'latin1');
    assert.equal(isNumber(buf, 0, buf.length), carbonAccepts[i], JSON.stringify(s));
  });
});

interface Filtered {
  out: string;
  points: number;
  invalid: number;
  reasons: InvalidReason[];
}

const filter = (input: string, prefix?: string): Filtered => {
  const reasons: InvalidReason[] = [];
  const buf = Buffer.from(input, 'latin1');
  const r = filterLines(buf, 0, buf.length, prefix === undefined ? undefined : Buffer.from(prefix), (_line, reason) => reasons.push(reason));
  return { out: r.data.toString('latin1'), points: r.points, invalid: r.invalid, reasons };
};

test('filterLines: keeps valid lines, drops and reports invalid ones, normalises CR and the last LF', () => {
  const cases: Array<[string, string, number, InvalidReason[]]> = [
    ['', '', 0, []],
    ['a 1 2\n', 'a 1 2\n', 1, []],
    ['a 1 2\nb 3 4\n', 'a 1 2\nb 3 4\n', 2, []],
    ['a 1 2', 'a 1 2\n', 1, []],
    ['a 1 2\r\n', 'a 1 2\n', 1, []],
    ['a 1 2\r\nb 3 4\r\n', 'a 1 2\nb 3 4\n', 2, []],
    ['a 1 2\r', 'a 1 2\n', 1, []],
    ['\n\n\r\n  \n', '', 0, []],
    ['a 1 2\n\nb 3 4\n', 'a 1 2\nb 3 4\n', 2, []],
    ['a 1 2\nbad\nb 3 4\n', 'a 1 2\nb 3 4\n', 2, ['fields']],
    ['a nan 2\na 1 2\na 1 x\n', 'a 1 2\n', 1, ['value', 'timestamp']],
    ['bad\nworse one\n', '', 0, ['fields', 'fields']],
    ['a\t1\t2\n', 'a\t1\t2\n', 1, []],
    ['a 1 2\nb 1 x', 'a 1 2\n', 1, ['timestamp']],
  ];
  for (const [input, out, points, reasons] of cases) {
    const r = filter(input);
    assert.deepEqual(r, { out, points, invalid: reasons.length, reasons }, JSON.stringify(input));
  }
});

test('filterLines: onInvalid sees the offending line without LF or CR', () => {
  const seen: string[] = [];
  const buf = Buffer.from('ok 1 2\nnot a number x\r\nok 3 4\n');
  filterLines(buf, 0, buf.length, undefined, (line) => seen.push(line.toString()));
  assert.deepEqual(seen, ['not a number x']);
});

test('filterLines: validates only buf[start, end)', () => {
  const buf = Buffer.from('junk\na 1 2\nb 3 4\njunk');
  const r = filterLines(buf, 5, 17);
  assert.deepEqual([r.data.toString(), r.points, r.invalid], ['a 1 2\nb 3 4\n', 2, 0]);
});

test('filterLines with a prefix (-key-prefix): every kept line, and only those, starts with it', () => {
  const cases: Array<[string, string, number, InvalidReason[]]> = [
    ['a.b 1 2\n', 'site.a.b 1 2\n', 1, []],
    ['a.b 1 2\nc 3 4', 'site.a.b 1 2\nsite.c 3 4\n', 2, []],
    ['a.b 1 2\r\nbad\n\nc 3 4\n', 'site.a.b 1 2\nsite.c 3 4\n', 2, ['fields']],
    // Leading blanks are tolerated on input; the prefix must join the metric name, not the blanks.
    ['  a.b 1 2\n', 'site.a.b 1 2\n', 1, []],
    ['\ta.b\t1\t2\n', 'site.a.b\t1\t2\n', 1, []],
  ];
  for (const [input, out, points, reasons] of cases) {
    assert.deepEqual(filter(input, 'site.'), { out, points, invalid: reasons.length, reasons }, JSON.stringify(input));
  }
  // The output of a prefixed line is itself a valid line.
  const r = filter(' \t x.y 5 6\n', 'p.');
  assert.equal(verdictOf(r.out.slice(0, -1)), null);
  // An empty prefix changes nothing.
  assert.deepEqual(filter('a 1 2\n', ''), { out: 'a 1 2\n', points: 1, invalid: 0, reasons: [] });
});

test('filterLines with maxLineBytes: a longer line is dropped as too_long, one of exactly that length kept', () => {
  const reasons: InvalidReason[] = [];
  const exact = `m ${'1'.repeat(14)} 1`; // 18 bytes
  const buf = Buffer.from(`a 1 2\n${exact}\n${exact}0\n${exact}\r\nb 3 4`);
  const r = filterLines(buf, 0, buf.length, undefined, (_l, reason) => reasons.push(reason), exact.length);
  // The CR counts: a line is its bytes before the LF, as it arrived.
  assert.deepEqual([r.data.toString(), r.points, reasons], [`a 1 2\n${exact}\nb 3 4\n`, 3, ['too_long', 'too_long']]);
});
