// Line framing across chunk boundaries (src/protocol/framer.ts): however a stream is cut into chunks,
// the framer delivers exactly what validating it whole would, and over-long lines are dropped,
// counted once each, without their neighbours and without memory growing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLineFramer } from '../../src/protocol/framer.js';
import { filterLines, type InvalidReason } from '../../src/protocol/lines.js';

interface Framed {
  out: string;
  points: number;
  reasons: InvalidReason[];
}

/** Feeds the chunks, then end(); what came out. */
function frame(chunks: Buffer[], maxLineBytes: number): Framed {
  const pieces: Buffer[] = [];
  let points = 0;
  const reasons: InvalidReason[] = [];
  const framer = createLineFramer(
    (data, n) => {
      assert.ok(n > 0 && data.length > 0, 'never an empty delivery');
      // Every delivery is whole lines.
      assert.equal(data[data.length - 1], 0x0a);
      pieces.push(Buffer.from(data));
      points += n;
    },
    { maxLineBytes, onInvalid: (_line, reason) => reasons.push(reason) },
  );
  for (const c of chunks) framer.push(c);
  framer.end();
  return { out: Buffer.concat(pieces).toString('latin1'), points, reasons };
}

/** The stream cut at the given offsets. */
function cutAt(input: Buffer, offsets: number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let from = 0;
  for (const o of offsets) {
    chunks.push(input.subarray(from, o));
    from = o;
  }
  chunks.push(input.subarray(from));
  return chunks;
}

const MIXED = Buffer.from(
  [
    'a.b.c 1 1700000000\n',
    'a.b.c 2.5 1700000001\r\n',
    '\n',
    'bad line\n',
    '  x.y\t-3e2\t1700000002\n',
    'x.y nan 1700000003\n',
    '\r\n',
    'z 4 nope\n',
    'last.one 5 1700000004', // no LF: delivered at end()
  ].join(''),
  'latin1',
);

test('unsplit: the framer delivers exactly what filterLines gives for the whole stream', () => {
  const whole = filterLines(MIXED, 0, MIXED.length);
  const r = frame([MIXED], 1024);
  assert.equal(r.out, whole.data.toString('latin1'));
  assert.equal(r.points, 4);
  assert.deepEqual(r.reasons, ['fields', 'value', 'timestamp']);
  assert.ok(r.out.endsWith('last.one 5 1700000004\n'), 'the last line without LF is delivered at end()');
});

test('every single split point, every pair of split points and 1-byte chunks give the unsplit output', () => {
  const expected = frame([MIXED], 1024);
  for (let i = 0; i <= MIXED.length; i++) {
    assert.deepEqual(frame(cutAt(MIXED, [i]), 1024), expected, `split at ${i}`);
    for (let j = i; j <= MIXED.length; j++) assert.deepEqual(frame(cutAt(MIXED, [i, j]), 1024), expected, `split at ${i}, ${j}`);
  }
  const bytes = [...Array(MIXED.length).keys()].map((i) => MIXED.subarray(i, i + 1));
  assert.deepEqual(frame(bytes, 1024), expected, '1-byte chunks');
});

test('a last line without LF is delivered only at end(), and only once', () => {
  const out: string[] = [];
  const framer = createLineFramer((d) => out.push(d.toString()), { maxLineBytes: 100 });
  framer.push(Buffer.from('a 1 2\nb 3'));
  assert.deepEqual(out, ['a 1 2\n']);
  framer.push(Buffer.from(' 4'));
  assert.deepEqual(out, ['a 1 2\n']);
  framer.end();
  assert.deepEqual(out, ['a 1 2\n', 'b 3 4\n']);
  framer.end();
  assert.deepEqual(out, ['a 1 2\n', 'b 3 4\n']);
});

const CAP = 32;
const LONG = `long.metric.${'x'.repeat(40)} 1 1700000000`; // 65 bytes, over CAP
const AT_CAP = `m.${'y'.repeat(CAP - 15)} 7 1700000000`; // exactly CAP bytes
const WITH_LONG = Buffer.from(`ok.1 1 1\n${LONG}\nok.2 2 2\n${AT_CAP}\n${LONG}\r\n${LONG}\nok.3 3 3\n${LONG}`);

test('over-long lines (with and without LF) are dropped and counted once each; neighbours survive; the cap is inclusive', () => {
  assert.equal(AT_CAP.length, CAP);
  const expected: Framed = {
    out: `ok.1 1 1\nok.2 2 2\n${AT_CAP}\nok.3 3 3\n`,
    points: 4,
    reasons: ['too_long', 'too_long', 'too_long', 'too_long'],
  };
  // Whole, in one chunk: every line is complete within the chunk, and the cap still holds.
  assert.deepEqual(frame([WITH_LONG], CAP), expected, 'one chunk');
  for (let i = 0; i <= WITH_LONG.length; i++) assert.deepEqual(frame(cutAt(WITH_LONG, [i]), CAP), expected, `split at ${i}`);
  const bytes = [...Array(WITH_LONG.length).keys()].map((i) => WITH_LONG.subarray(i, i + 1));
  assert.deepEqual(frame(bytes, CAP), expected, '1-byte chunks');
});

test('a client that never sends LF cannot grow memory: the carry stays within the cap', () => {
  const cap = 16 * 1024;
  const chunk = Buffer.alloc(64 * 1024, 'x');
  const out: string[] = [];
  const reasons: InvalidReason[] = [];
  const framer = createLineFramer((d) => out.push(d.toString()), { maxLineBytes: cap, onInvalid: (_l, r) => reasons.push(r) });
  framer.push(Buffer.from('before 1 2\nstart.of.a.huge.line '));
  global.gc?.();
  const baseline = process.memoryUsage().arrayBuffers;
  let peak = 0;
  // 256 MiB without a newline, from one reused 64 KiB chunk; memory held must not follow it.
  for (let i = 0; i < 4096; i++) {
    framer.push(chunk);
    if (i % 256 === 0) peak = Math.max(peak, process.memoryUsage().arrayBuffers - baseline);
  }
  framer.push(Buffer.from('xxx\nafter 3 4\n'));
  framer.end();
  assert.deepEqual(out, ['before 1 2\n', 'after 3 4\n']);
  assert.deepEqual(reasons, ['too_long']);
  assert.ok(peak < 8 * 1024 * 1024, `array buffers grew by ${peak} bytes while a 256 MiB line streamed`);
});

test('a carried partial line just under the cap, completed by the next chunk, is checked against the cap', () => {
  const line = Buffer.from(`${AT_CAP}0\nok 1 2\n`); // CAP + 1 bytes before its LF
  for (let i = 1; i < CAP + 1; i++) {
    assert.deepEqual(frame(cutAt(line, [i]), CAP), { out: 'ok 1 2\n', points: 1, reasons: ['too_long'] }, `split at ${i}`);
  }
});
