// filterLines settles the common `name value timestamp` shape with native searches and leaves
// every other line to checkLine's full reading. Lines built from the bytes that matter (blanks,
// CR, signs, dots, exponents, letters) must get exactly the verdicts checkLine gives one by one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLine, filterLines } from '../../src/protocol/lines.js';
import { seededRandom } from '../../harness/load-generator.js';

const PIECES = [
  'a.b',
  'x',
  ' ',
  '  ',
  '\t',
  '1',
  '42',
  '-3',
  '+7',
  '0.5',
  '.5',
  '5.',
  '1e3',
  '1e',
  'e5',
  'nan',
  '1.2.3',
  '-',
  '\r',
  '17e-2',
  // What carbon must not get: control bytes, '/', huge numbers and timestamps, bad and odd UTF-8 (as latin1 bytes).
  '\x00',
  '\x01',
  '\x7f',
  '\x0b',
  '/',
  '-1',
  '-2',
  '4294967295',
  '4294967296',
  '1e999',
  '9'.repeat(400),
  '\u00c3\u00a9',
  '\u00c2\u00a0',
  '\u00e9',
  '\u00e3\u0080\u0080',
];

function randomLine(random: () => number): string {
  const parts = Array.from({ length: 1 + Math.floor(random() * 7) }, () => PIECES[Math.floor(random() * PIECES.length)]!);
  return parts.join(random() < 0.7 ? ' ' : '');
}

/** What filterLines must return, line by line through checkLine. */
function reference(lines: string[], prefix: string): { data: string; points: number; invalid: number } {
  let data = '';
  let points = 0;
  let invalid = 0;
  for (const line of lines) {
    const body = line.endsWith('\r') ? line.slice(0, -1) : line;
    const verdict = checkLine(Buffer.from(body, 'latin1'), 0, body.length);
    if (verdict === null) {
      points++;
      // A prefix joins the metric name: the line's leading blanks go.
      data += prefix ? `${prefix}${body.replace(/^[ \t]+/, '')}\n` : `${body}\n`;
    } else if (verdict !== 'blank') invalid++;
  }
  return { data, points, invalid };
}

test('filterLines gives every line the verdict checkLine gives it, with and without a prefix', () => {
  const random = seededRandom(5);
  for (let round = 0; round < 300; round++) {
    const lines = Array.from({ length: 1 + Math.floor(random() * 40) }, () => randomLine(random));
    // Valid lines in the common shape between the odd ones, so the fast path and its TAB
    // bookkeeping run across lines that need the slow one.
    for (let i = 0; i < lines.length; i += 3) lines.splice(i, 0, `collectd.host-${i}.cpu-0.cpu-idle ${i}.5 1700000000`);
    // And lines of that shape with one odd piece inside the name, the value or the timestamp.
    for (let i = 1; i < lines.length; i += 4) {
      const odd = PIECES[Math.floor(random() * PIECES.length)]!;
      const fields = ['collectd.host.cpu', '7', '1700000000'];
      const f = Math.floor(random() * 3);
      fields[f] = fields[f]!.slice(0, 2) + odd + fields[f]!.slice(2);
      lines.splice(i, 0, fields.join(' '));
    }
    const buf = Buffer.from(lines.join('\n') + '\n', 'latin1');
    for (const prefix of ['', 'site1.']) {
      const got = filterLines(buf, 0, buf.length, prefix ? Buffer.from(prefix) : undefined);
      const want = reference(lines, prefix);
      assert.equal(got.data.toString('latin1'), want.data, JSON.stringify(lines));
      assert.equal(got.points, want.points);
      assert.equal(got.invalid, want.invalid);
    }
  }
});

test('the fast path accepts the plain shape and refuses what carbon refuses', () => {
  const cases: Array<[string, number, number]> = [
    ['a.b 1 1700000000\n', 1, 0],
    ['a.b 1.5e3 1700000000\n', 1, 0],
    ['a.b\t1 1700000000\n', 1, 0],
    ['a.b 1 1700000000 \n', 1, 0],
    ['a.b  1 1700000000\n', 1, 0],
    ['a.b 1\n', 0, 1],
    ['a.b c 1700000000\n', 0, 1],
    ['a.b 1 17000x\n', 0, 1],
    ['a b 1 1700000000\n', 0, 1],
    [' 1 1700000000\n', 0, 1],
    ['a.b nan 1700000000\n', 0, 1],
    ['a.b 1e999 1700000000\n', 0, 1],
    [`a.b ${'1'.repeat(400)} 1700000000\n`, 0, 1],
    ['a.b 1 -1700000000\n', 0, 1],
    ['a.b 1 4294967296\n', 0, 1],
    ['a\x00b 1 1700000000\n', 0, 1],
    ['a/b 1 1700000000\n', 0, 1],
    ['a.b\x7f 1 1700000000\n', 0, 1],
  ];
  for (const [text, points, invalid] of cases) {
    const r = filterLines(Buffer.from(text), 0, text.length);
    assert.deepEqual([r.points, r.invalid], [points, invalid], JSON.stringify(text));
  }
});
