// The pickle decoder against frames Python's own pickle makes for carbon's datapoint lists, read
// the way carbon reads them (carbon.util's SafeUnpickler and MetricPickleReceiver's float()): the
// same data points with the same doubles, the same points skipped; and every frame outside what
// carbon's senders emit refused with its reason, whatever carbon's unpickler would have done.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePickle, PickleRefusedError, type PickleRefusal } from '../../src/protocol/pickle.js';
import type { InvalidReason } from '../../src/protocol/lines.js';
import { carbonFrames } from '../helpers/carbon-pickle.js';

const LIMITS = { maxOutputBytes: 16 << 20 };

function decodeLines(frame: Buffer): { lines: Array<[string, string, string]>; invalid: InvalidReason[] } {
  const invalid: InvalidReason[] = [];
  const { data, points } = decodePickle(frame, LIMITS, (_path, reason) => invalid.push(reason));
  const lines = data
    .toString('utf8')
    .split('\n')
    .slice(0, -1)
    .map((l) => l.split(' ') as [string, string, string]);
  assert.equal(lines.length, points);
  return { lines, invalid };
}

function refusal(frame: Buffer, limits = LIMITS): PickleRefusal {
  try {
    decodePickle(frame, limits);
  } catch (err) {
    if (err instanceof PickleRefusedError) return err.reason;
    throw err;
  }
  assert.fail('the frame was decoded');
}

/** Each decoded point as carbon holds it: name, timestamp and value as doubles (Object.is: -0 is not 0). */
function sameAsCarbon(ours: Array<[string, string, string]>, carbon: Array<[string, string, string]>): void {
  assert.equal(ours.length, carbon.length);
  ours.forEach(([path, value, timestamp], i) => {
    const [cPath, cTimestamp, cValue] = carbon[i]!;
    assert.equal(path, cPath);
    assert.ok(Object.is(Number(value), Number(cValue)), `${path}: value ${value}, carbon ${cValue}`);
    assert.ok(Object.is(Number(timestamp), Number(cTimestamp)), `${path}: timestamp ${timestamp}, carbon ${cTimestamp}`);
  });
}

const ACCEPTED: Record<string, string> = {
  'a carbon-relay message (500 points)': "[('carbon.relays.a.metricsReceived', (1700000000 + i, i * 1.5)) for i in range(500)]",
  'numbers of every encoding': `[
    ('n.int', (1700000000, 7)), ('n.neg', (1700000000, -7)), ('n.byte', (1700000000, 200)),
    ('n.short', (1700000000, 60000)), ('n.long', (1700000000, 2**70)), ('n.neglong', (1700000000, -2**63 - 1)),
    ('n.long.odd', (1700000000, 2**53 + 1)), ('n.tiny', (1700000000, 5e-324)), ('n.max', (1700000000, 1.7976931348623157e308)),
    ('n.tenth', (1700000000, 0.1)), ('n.third', (1700000000, 1/3)), ('n.negzero', (1700000000, -0.0)),
    ('n.e21', (1700000000, 1e21)), ('n.e16', (1700000000, 1e16)), ('n.small', (1700000000, 1.5e-7)),
    ('n.fraction.ts', (1700000000.25, 1.0)), ('n.now', (-1, 3)), ('n.zero.ts', (0, 3))]`,
  'memoised names and a shared datapoint tuple': "(lambda dp: [('r.same', dp), ('r.same', (1700000001, 2.0)), ('r.other', dp), ('r.same', dp)])((1700000000, 1.0))",
  '2,500 points: several APPENDS, LONG_BINPUT and LONG_BINGET': "[('m.%d' % (i % 300), (1700000000 + i, i)) for i in range(2500)]",
  'one point (APPEND)': "[('one.point', (1700000000, 1.0))]",
  'no point': '[]',
  'UTF-8 names': "[('unicode.métrique.日本', (1700000000, 1.0)), ('emoji.\U0001F600', (1700000000, 2.0))]",
  // Python 2's carbon-relay: str paths are SHORT_BINSTRING and BINSTRING; SafeUnpickler reads them as UTF-8.
  'Python 2 str paths': String.raw`b'\x80\x02]q\x00(U\x07py2.abcq\x01J\x00\xf1SeG?\xf8\x00\x00\x00\x00\x00\x00\x86q\x02\x86q\x03T\x07\x00\x00\x00py2.defq\x04J\x00\xf1SeK\x02\x86q\x05\x86q\x06e.'`,
  'points carbon skips: value not a number, not a pair, NaN':
    "[('skip.strvalue', (1700000000, 'abc')), 5, ('kept', (1700000000, 1.0)), ('skip.nan', (1700000000, float('nan'))), ('skip.flat', 1700000000)]",
};

test('frames from Python pickle: the same data points as carbon reads, value for value', async () => {
  const frames = await carbonFrames(ACCEPTED);
  for (const { name, frame, carbon } of frames) {
    assert.ok('points' in carbon, `${name}: carbon refused it: ${'error' in carbon ? carbon.error : ''}`);
    const { lines, invalid } = decodeLines(frame);
    sameAsCarbon(lines, carbon.points);
    if (name.startsWith('points carbon skips')) assert.deepEqual(invalid, ['fields', 'fields', 'value', 'fields']);
    else assert.deepEqual(invalid, [], name);
  }
  const relay = frames.find((f) => f.name.startsWith('a carbon-relay'))!;
  console.log(`# a 500-point carbon-relay frame: ${relay.frame.length} bytes, ${decodeLines(relay.frame).lines.length} points, same doubles as carbon`);
});

test('where we refuse a point carbon would keep: what plaintext cannot carry, or graphite cannot draw', async () => {
  const [frame] = await carbonFrames({
    d: "[('has space', (1700000000, 1.0)), ('inf', (1700000000, float('inf'))), ('new\\nline', (1700000000, 1.0)), ('ts.inf', (float('inf'), 1.0)), ('', (1, 1.0)), ('ok', (1700000000, 1.0))]",
  });
  assert.ok('points' in frame!.carbon && frame!.carbon.points.length === 6, 'carbon keeps all six');
  const { lines, invalid } = decodeLines(frame!.frame);
  assert.deepEqual(lines, [['ok', '1', '1700000000']]);
  assert.deepEqual(invalid, ['name', 'value', 'name', 'timestamp', 'name']);
});

const REFUSED: Record<string, [string, PickleRefusal]> = {
  'GLOBAL and REDUCE (os.system)': [String.raw`b'\x80\x02cos\nsystem\nX\x04\x00\x00\x00trueq\x00\x85q\x01Rq\x02.'`, 'opcode'],
  'protocol 0 (no PROTO)': ["pickle.dumps([('a.b', (1700000000, 1.0))], protocol=0)", 'protocol'],
  'protocol 4 (FRAME)': ["pickle.dumps([('a.b', (1700000000, 1.0))], protocol=4)", 'protocol'],
  'bytes paths (codecs.encode through REDUCE)': ["[(b'bytes.path', (1700000000, 1.0))]", 'opcode'],
  'a dict': ["{'a.b': (1700000000, 1.0)}", 'opcode'],
  'None as the value': ["[('a.b', (1700000000, None))]", 'opcode'],
  'a 1-tuple': ["[('a.b',)]", 'opcode'],
  'True as the value': ["[('a.b', (1700000000, True))]", 'opcode'],
  'an object (copyreg)': ["[('a.b', (1700000000, __import__('fractions').Fraction(1, 3)))]", 'opcode'],
  'bytes after STOP': [String.raw`pickle.dumps([], protocol=2) + b'J'`, 'malformed'],
};

test('frames outside what carbon sends are refused with a reason, never run', async () => {
  const frames = await carbonFrames(Object.fromEntries(Object.entries(REFUSED).map(([name, [source]]) => [name, source])));
  for (const { name, frame, carbon } of frames) {
    assert.equal(refusal(frame), REFUSED[name]![1], name);
    console.log(`# ${name}: refused (${REFUSED[name]![1]}); carbon's SafeUnpickler: ${'error' in carbon ? carbon.error : `${carbon.points.length} points`}`);
  }
});

/** A frame body from opcodes and their arguments, as bytes. */
function body(...parts: Array<number | Buffer | string>): Buffer {
  return Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.from([p]) : typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
}
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};

test('hostile frames: amplification, sparse memo, deep nesting, prefixes of a frame — refused, bounded', async () => {
  // A 16 KiB path memoised once, then referenced by 2-byte BINGETs: 1.6 GB of plaintext from a 216 KB frame.
  const path = Buffer.alloc(16 * 1024, 'p');
  const gets = Buffer.alloc(2 * 100_000);
  for (let i = 0; i < gets.length; i += 2) gets.set([0x68, 3], i);
  const bomb = body('\x80\x02]q\x00(X', u32(path.length), path, 'q\x01J\x00\xf1SeK\x01\x86q\x02\x86q\x03', gets, 'e.');
  const started = Date.now();
  assert.equal(refusal(bomb, { maxOutputBytes: 16 * bomb.length }), 'expansion');
  assert.ok(Date.now() - started < 5_000);

  assert.equal(refusal(body('\x80\x02]q\x05.')), 'memo', 'a memo index that skips entries');
  assert.equal(refusal(body('\x80\x02]h\x00.')), 'memo', 'a memo index never set');
  assert.equal(refusal(body('\x80\x02]((((((')), 'depth', 'marks');
  assert.equal(refusal(body('\x80\x02]K\x01', 'K\x01\x86'.repeat(6), '.')), 'depth', 'tuples nested');
  assert.equal(refusal(body('\x80\x02]K\x01\x86.')), 'malformed', 'TUPLE2 with one value');
  assert.equal(refusal(body('\x80\x02K\x01K\x01a.')), 'malformed', 'APPEND to a number');
  assert.equal(refusal(body('\x80\x02]X\xff\xff\xff\xff')), 'truncated', 'a string longer than the frame');
  // A list holding itself: a point carbon would skip, no recursion.
  const { lines, invalid } = decodeLines(body('\x80\x02]q\x00h\x00a.'));
  assert.deepEqual([lines, invalid], [[], ['fields']]);

  const [relay] = await carbonFrames({ r: "[('p.%d' % i, (1700000000 + i, i / 7)) for i in range(50)]" });
  for (let n = 0; n < relay!.frame.length; n++) assert.equal(refusal(relay!.frame.subarray(0, n)), n < 2 ? 'protocol' : 'truncated', `prefix of ${n} bytes`);
});
