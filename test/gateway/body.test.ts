// How the gateway reads an /ingest body (src/gateway/body.ts), against a real gateway process over
// real TLS and a real TCP sink: a body held whole and inflated in one pass, and one over 1 MiB
// compressed inflated as it streams in, deliver every line in order; joined gzip members and a
// gzip trailer that names only the last member's size changes nothing; the decompressed cap
// answers 413 on both paths, a broken gzip stream (a lying trailer too) 400.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { rawPost } from '../helpers/raw-http.js';
import { startGateway, writeKeyFile } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

const KEY = 'body-key-0123456789abcdef0123456789';
const MiB = 1024 * 1024;
const MAX_BATCH_BYTES = 8 * MiB;

/** `count` lines with random hex names, which gzip barely halves. */
function lines(tag: string, count: number): string[] {
  const names = randomBytes(count * 16).toString('hex');
  return Array.from({ length: count }, (_, i) => `body.${tag}.${names.slice(i * 32, i * 32 + 32)} ${i} 1700000000`);
}

const text = (ls: string[]): Buffer => Buffer.from(`${ls.join('\n')}\n`);

/** Gzip with its ISIZE trailer (RFC 1952, the last 4 bytes) replaced: a trailer that lies. */
function withTrailer(gz: Buffer, isize: number): Buffer {
  const copy = Buffer.from(gz);
  copy.writeUInt32LE(isize, copy.length - 4);
  return copy;
}

test('bodies held whole and bodies inflated as they stream deliver every line in order; caps and broken gzip are answered on both paths', async () => {
  const sink = await startTcpSink();
  const gateway = await startGateway({ keyFile: writeKeyFile({ site1: KEY }), args: ['-destinations', sink.address, '-max-batch-bytes', String(MAX_BATCH_BYTES)] });
  const ca = gateway.cert.cert;
  const send = (body: Buffer): Promise<[number, string]> => rawPost(gateway.port, ca, '/ingest', KEY, body).then((r) => [r.status, r.body]);
  try {
    const expected: string[] = [];
    const accepted = async (name: string, ls: string[], body: Buffer): Promise<void> => {
      assert.deepEqual(await send(body), [200, 'Batch Received\n'], name);
      expected.push(...ls);
    };
    // Held whole: one member, then three joined members (the trailer names only the last one's
    // size, the hint for the output buffer).
    const small = lines('small', 2000);
    await accepted('one member', small, gzipSync(text(small)));
    const joined = [lines('joined0', 1500), lines('joined1', 1500), lines('joined2', 10)];
    await accepted('joined members', joined.flat(), Buffer.concat(joined.map((ls) => gzipSync(text(ls)))));
    // Streamed: over 1 MiB compressed, as one member and as joined members.
    const big = lines('big', 80_000);
    const bigBody = gzipSync(text(big), { level: 1 });
    assert.ok(bigBody.length > 1.5 * MiB && text(big).length < MAX_BATCH_BYTES, `streamed body of ${bigBody.length} B`);
    await accepted('streamed member', big, bigBody);
    const halves = [big.slice(0, 40_000), big.slice(40_000)].map((ls) => ls.map((l) => l.replace('body.big.', 'body.halves.')));
    await accepted('streamed joined members', halves.flat(), Buffer.concat(halves.map((ls) => gzipSync(text(ls), { level: 1 }))));

    // Over -max-batch-bytes once inflated: held whole (a bomb of a few KiB), streamed (joined
    // members over 1 MiB compressed, each well under the cap), and with a trailer that lies low.
    const bomb = gzipSync(Buffer.alloc(2 * MAX_BATCH_BYTES, 'a.b 1 1700000000\n'), { level: 9 });
    assert.ok(bomb.length < MiB);
    assert.deepEqual(await send(bomb), [413, 'Batch Too Large\n'], 'bomb held whole');
    assert.deepEqual(await send(withTrailer(bomb, 100)), [413, 'Batch Too Large\n'], 'bomb with a lying trailer');
    const member = gzipSync(text(lines('over', 20_000)), { level: 1 });
    const over = Buffer.concat(Array.from({ length: Math.ceil((MAX_BATCH_BYTES * 1.2) / (20_000 * 60)) }, () => member));
    assert.ok(over.length > MiB);
    assert.deepEqual(await send(over), [413, 'Batch Too Large\n'], 'over the cap, streamed');

    // A gzip header followed by garbage: 400 held whole and streamed. A trailer that lies (low or
    // high, as large as ISIZE goes) is a broken stream too: only a hint for the output size.
    const broken = (size: number): Buffer => Buffer.concat([bigBody.subarray(0, 10), randomBytes(size)]);
    assert.deepEqual(await send(broken(1000)), [400, 'Batch Malformed\n'], 'broken, held whole');
    assert.deepEqual(await send(broken(2 * MiB)), [400, 'Batch Malformed\n'], 'broken, streamed');
    for (const isize of [10, 0xffffffff]) {
      assert.deepEqual(await send(withTrailer(gzipSync(text(lines('lie', 1000))), isize)), [400, 'Batch Malformed\n'], `trailer lying: ${isize}`);
    }

    // Everything accepted arrived, in order, and nothing of what was refused.
    await sink.waitForLines(expected.length, 20_000);
    assert.equal(sink.lines.length, expected.length);
    const wrong = sink.lines.findIndex((l, i) => l !== expected[i]);
    assert.equal(wrong, -1, `line ${wrong} arrived as ${sink.lines[wrong]}, sent as ${expected[wrong]}`);
  } finally {
    await gateway.stop();
    await sink.close();
  }
});
