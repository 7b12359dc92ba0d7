// The proxy's gzip (src/forward/gzip.ts): ISA-L's igzip addon, built by `npm ci` because the test
// command installs libisal-dev, and node:zlib, its fallback. Whatever either writes must read back
// byte for byte with node:zlib (our gateway) and with Python's gzip module (an independent reader),
// alone and as the joined members the forwarder sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { gzip, gzipEngine, isalGzip, zlibGzip, type Gzip } from '../../src/forward/gzip.js';
import { buildChunk, encodeNames, metricNames } from '../../harness/load-generator.js';

const graphiteBatch = buildChunk(encodeNames(metricNames(2000, 3)), 0, 0, 5000, 1_700_000_000);

const INPUTS: ReadonlyArray<[string, Buffer]> = [
  ['empty', Buffer.alloc(0)],
  ['one line', Buffer.from('collectd.host-001.load.shortterm 0.42 1700000000\n')],
  ['a 5,000-line Graphite batch', graphiteBatch],
  ['1 MiB of random bytes (incompressible: stored blocks)', randomBytes(1 << 20)],
  ['4 MiB of zeros', Buffer.alloc(4 << 20)],
  ['a slice of a larger buffer', graphiteBatch.subarray(1234, 99_999)],
];

/** Decompresses with /usr/bin/python3's gzip module, which reads every member of the stream. */
function pythonGunzip(data: Buffer): Buffer {
  const run = spawnSync('/usr/bin/python3', ['-c', 'import gzip, sys; sys.stdout.buffer.write(gzip.decompress(sys.stdin.buffer.read()))'], {
    input: data,
    maxBuffer: 64 << 20,
  });
  assert.equal(run.status, 0, `python's gzip refused the stream: ${run.stderr}`);
  return run.stdout;
}

test('the ISA-L addon is built and is what the proxy uses', () => {
  assert.ok(isalGzip, `ISA-L addon not loaded: ${gzipEngine}`);
  assert.equal(gzip, isalGzip);
  assert.equal(gzipEngine, 'ISA-L igzip, level 1');
});

const engines: Array<[string, Gzip]> = [
  ['ISA-L', isalGzip ?? (() => assert.fail('ISA-L addon not loaded'))],
  ['node:zlib', zlibGzip],
];

for (const [engine, compress] of engines) {
  test(`${engine}: every input reads back whole with node:zlib and Python, alone and as joined members`, async () => {
    const compressed = await Promise.all(INPUTS.map(([, input]) => compress(input)));
    for (const [i, [name, input]] of INPUTS.entries()) {
      assert.ok(gunzipSync(compressed[i]!).equals(input), `${name}: node:zlib read it back`);
    }
    const joined = Buffer.concat(compressed);
    const whole = Buffer.concat(INPUTS.map(([, input]) => input));
    assert.ok(gunzipSync(joined).equals(whole), 'node:zlib reads the joined members as one stream');
    assert.ok(pythonGunzip(joined).equals(whole), 'Python reads the joined members as one stream');
  });
}

test('ISA-L compresses a Graphite batch as well as zlib level 1 (within 5 %)', async () => {
  const [isal, zlib] = await Promise.all([(isalGzip ?? assert.fail('ISA-L addon not loaded'))(graphiteBatch), zlibGzip(graphiteBatch)]);
  assert.ok(isal.length <= zlib.length * 1.05, `ISA-L ${isal.length} bytes against zlib's ${zlib.length}`);
  assert.ok(isal.length * 3 < graphiteBatch.length, 'at least 3x smaller');
});

test('ISA-L: 64 compressions at once each return their own input; a non-Buffer is a TypeError', async () => {
  const compress = isalGzip ?? assert.fail('ISA-L addon not loaded');
  const inputs = Array.from({ length: 64 }, (_, i) => graphiteBatch.subarray(i * 1000, i * 1000 + 20_000 + i));
  const outputs = await Promise.all(inputs.map((input) => compress(input)));
  outputs.forEach((out, i) => assert.ok(gunzipSync(out).equals(inputs[i]!), `compression ${i}`));
  assert.throws(() => compress('text' as unknown as Buffer), { name: 'TypeError', message: 'gzip expects a Buffer' });
});
