// The C passes of the hot path (native/lines/lines.c) against the JavaScript they stand in for: a line
// the native validation counts is one checkLine accepts unchanged, and it stops at the first line
// that is not plain; the native names sketch sets exactly the registers screen.ts's own loop sets;
// and with the addon switched off (POLYMUR_NATIVE_LINES=0) the validation tests pass as they do with it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { checkLine } from '../../src/protocol/lines.js';
import { nativeLines, RUN_COUNT_UNIT } from '../../src/protocol/native-lines.js';
import { createNameQuota } from '../../src/tenants/name-quota.js';
import { createNameSketch } from '../../src/tenants/name-sketch.js';
import { screenLines } from '../../src/tenants/screen.js';
import { seededRandom } from '../../harness/load-generator.js';

const native = nativeLines;

/** Plain lines with, now and then, one byte changed to one that may make it unusual. */
function lines(random: () => number, count: number): string[] {
  const odd = [' ', '\t', '\r', '/', '\x00', '\x7f', '\u00e9', '\u00c2', '-', '+', '.', 'e', 'x', '9'.repeat(320), '4294967296', '', '\n'];
  return Array.from({ length: count }, (_, i) => {
    const name = `collectd.host-${i % 97}.cpu-${i % 4}.${'x'.repeat(Math.floor(random() * 40))}`;
    const line = `${name} ${random() < 0.5 ? '-' : ''}${Math.floor(random() * 1e6)}${random() < 0.5 ? '.25' : ''} ${1_700_000_000 + i}`;
    if (random() < 0.8) return line;
    const at = Math.floor(random() * (line.length + 1));
    return line.slice(0, at) + odd[Math.floor(random() * odd.length)]! + line.slice(at + (random() < 0.5 ? 1 : 0));
  });
}

test('the native addon is built (npm install builds it beside the ISA-L one)', () => {
  assert.ok(native, 'native/lines/build/Release/polymur_lines.node loads');
});

test('plainRun counts only lines checkLine accepts unchanged, and stops at the first other one', () => {
  const random = seededRandom(11);
  let counted = 0;
  let stopsOnValid = 0;
  for (let round = 0; round < 400; round++) {
    const text = lines(random, 1 + Math.floor(random() * 30)).join('\n') + (random() < 0.8 ? '\n' : '');
    const buf = Buffer.from(text, 'latin1');
    const maxLineBytes = random() < 0.2 ? 60 : Infinity;
    let pos = 0;
    while (pos < buf.length) {
      const run = native!.plainRun(buf, pos, buf.length, maxLineBytes);
      const count = Math.floor(run / RUN_COUNT_UNIT);
      const stop = run - count * RUN_COUNT_UNIT;
      for (let n = 0; n < count; n++) {
        const nl = buf.indexOf(0x0a, pos);
        assert.ok(nl !== -1, 'a counted line ends in LF');
        assert.equal(checkLine(buf, pos, nl), null, JSON.stringify(buf.toString('latin1', pos, nl)));
        assert.notEqual(buf[nl - 1], 0x0d, 'no CR on a counted line');
        assert.ok(nl - pos <= maxLineBytes);
        pos = nl + 1;
        counted++;
      }
      assert.equal(stop, pos, 'the run ends where the first uncounted line starts');
      if (pos >= buf.length) break;
      // The line it stopped at is left for filterLines' own reading; go past it.
      const nl = buf.indexOf(0x0a, pos);
      const end = nl === -1 ? buf.length : nl;
      if (checkLine(buf, pos, end) === null) stopsOnValid++;
      pos = end + 1;
    }
  }
  // Most lines are plain: the native pass must settle them (not leave everything to JavaScript).
  assert.ok(counted > 4000, `${counted} lines counted natively`);
  process.stdout.write(`# plainRun: ${counted} lines settled natively, ${stopsOnValid} valid but unusual lines left to filterLines\n`);
});

test('sketchNames sets the registers screen.ts sets in JavaScript, with a -key-prefix skipped and blanks', async () => {
  const random = seededRandom(12);
  for (const skip of [0, 5]) {
    const text = Array.from({ length: 3000 }, (_, i) => {
      const blanks = i % 50 === 0 ? ' \t' : '';
      const name = `s${'y'.repeat(i % 23)}.metric.${Math.floor(random() * 2000)}`;
      return `${'k'.repeat(skip)}${blanks}${name}${i % 7 === 0 ? '\t' : ' '}${i} 1700000000\n`;
    }).join('');
    const data = Buffer.from(text);
    // A names ceiling no batch reaches keeps screen.ts on its JavaScript loop; without rules it calls C.
    const viaJs = createNameSketch();
    const viaC = createNameSketch();
    viaJs.roll(0);
    viaC.roll(0);
    const js = await screenLines(data, skip, { sketch: viaJs, quota: createNameQuota(1e9), onDrop: () => assert.fail('nothing dropped') });
    const c = await screenLines(data, skip, { sketch: viaC, onDrop: () => assert.fail('nothing dropped') });
    assert.equal(c.points, 3000);
    assert.equal(js.points, 3000);
    assert.deepEqual(Buffer.from(viaC.current()), Buffer.from(viaJs.current()), `the same registers (skip ${skip})`);
    assert.ok(viaC.estimate(0) > 1500, `estimate ${viaC.estimate(0)} of about 2000`);
  }
});

test('without the addon (POLYMUR_NATIVE_LINES=0) filterLines gives the same verdicts', () => {
  // Without node --test's own context variable, so the child reports to its stdout.
  const { NODE_TEST_CONTEXT: _context, ...parentEnv } = process.env;
  const env = { ...parentEnv, POLYMUR_NATIVE_LINES: '0' };
  const loader = new URL('../../src/protocol/native-lines.js', import.meta.url).href;
  const off = spawnSync(process.execPath, ['--input-type=module', '-e', `const m = await import(${JSON.stringify(loader)}); process.exit(m.nativeLines === undefined ? 0 : 1);`], {
    env,
    timeout: 30_000,
  });
  assert.equal(off.status, 0, 'the addon is not loaded under POLYMUR_NATIVE_LINES=0');
  const file = fileURLToPath(new URL('./filter-fast-path.test.js', import.meta.url));
  const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], { env, encoding: 'utf8', timeout: 60_000 });
  assert.equal(run.status, 0, `${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /# pass [1-9]/);
});
