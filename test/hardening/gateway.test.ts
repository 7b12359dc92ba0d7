// Hardening of polymur-gateway against bad input, each case against a real gateway process over
// real TLS while a real proxy streams well-behaved traffic through it: the bad request gets its
// exact answer (or its connection closed), the gateway's memory stays bounded, and every point
// of the well-behaved stream reaches the TCP sink.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { gzipSync } from 'node:zlib';
import { peakRssMb, scrapeCounter, until } from '../helpers/points.js';
import { parseResponse, postHead, rawConnect, rawPost, type RawConnection } from '../helpers/raw-http.js';
import { GATEWAY_KEY, underGatewayLoad } from '../helpers/gateway-under-load.js';

/** The well-behaved proxy's key, which the attacks use too where they need a valid one. */
const KEY = GATEWAY_KEY;
const underLoad = underGatewayLoad;
const MiB = 1024 * 1024;

/** The chunked-encoding frame of one piece of a body. */
function chunk(data: Buffer): Buffer {
  return Buffer.concat([Buffer.from(`${data.length.toString(16)}\r\n`), data, Buffer.from('\r\n')]);
}

/** Writes the pieces as chunks (a bounded count) until the gateway answers or closes; returns how many it took. */
async function stream(c: RawConnection, pieces: (i: number) => Buffer, count: number): Promise<number> {
  let answered = false;
  c.response.then(
    () => (answered = true),
    () => (answered = true),
  );
  let written = 0;
  while (written < count && !answered && (await c.write(chunk(pieces(written))))) written++;
  return written;
}

test('a gzip bomb expanding to 10 GiB gets 413 and the gateway RSS stays bounded', async () => {
  await underLoad('gzip bomb', [], async ({ gateway, ca }) => {
    // 10,240 concatenated gzip members of 1 MiB of zeros each: 10 GiB once inflated, about
    // 10 MB on the wire, and never more than one member in memory here.
    const member = gzipSync(Buffer.alloc(MiB), { level: 9 });
    const members = 10 * 1024;
    const before = peakRssMb(gateway.proc.pid!);
    const c = await rawConnect(gateway.port, ca);
    await c.write(postHead('/ingest', KEY));
    const written = await stream(c, () => member, members);
    const r = await c.response;
    assert.deepEqual([r.status, r.body], [413, 'Batch Too Large\n']);
    const after = peakRssMb(gateway.proc.pid!);
    // The default -max-batch-bytes is 64 MiB: what is inflated up to the cut, and no more.
    assert.ok(after - before < 120, `gateway peak RSS grew by ${(after - before).toFixed(1)} MB`);
    return `bomb of ${members} MiB inflated, ${written} members (${((written * member.length) / 1024).toFixed(0)} KiB) written before 413; gateway peak RSS ${before} -> ${after} MB`;
  });
});

test('a compressed body over -max-body-bytes gets 413, declared or streamed; an endless malformed body gets 400 and is cut off', async () => {
  await underLoad('body cap', ['-max-body-bytes', String(MiB)], async ({ gateway, ca }) => {
    // Declared too large: answered from the headers, the body never read.
    const declared = await rawConnect(gateway.port, ca);
    await declared.write(postHead('/ingest', KEY, 2 * MiB));
    const r1 = await declared.response;
    assert.deepEqual([r1.status, r1.body], [413, 'Batch Too Large\n']);
    // Streamed without a length: incompressible data, so the compressed count trips first.
    const body = gzipSync(randomBytes(4 * MiB), { level: 1 });
    const streamed = await rawConnect(gateway.port, ca);
    await streamed.write(postHead('/ingest', KEY));
    const pieces = 64;
    const piece = body.length / pieces;
    const written = await stream(streamed, (i) => body.subarray(i * piece, (i + 1) * piece), pieces);
    const r2 = await streamed.response;
    assert.deepEqual([r2.status, r2.body], [413, 'Batch Too Large\n']);
    // Not gzip, streamed without end: 400 at once, and the connection cut soon after, not drained for ever.
    const garbage = await rawConnect(gateway.port, ca);
    await garbage.write(postHead('/ingest', KEY));
    const started = Date.now();
    const junk = await stream(garbage, () => Buffer.alloc(64 * 1024, 'x'), 100_000);
    const r3 = await garbage.response;
    assert.deepEqual([r3.status, r3.body], [400, 'Batch Malformed\n']);
    await garbage.closed;
    const cutAfter = Date.now() - started;
    assert.ok(cutAfter < 5000, `malformed stream cut after ${cutAfter} ms (the -read-timeout default is 60 s)`);
    // Just under the cap is fine.
    const fits = await rawPost(gateway.port, ca, '/ingest', KEY, gzipSync('hardening.fits 1 1700000000\n'));
    assert.deepEqual([fits.status, fits.body], [200, 'Batch Received\n']);
    return `declared ${2 * MiB} B -> 413; streamed ${body.length} B gzip -> 413 after ${written} of ${pieces} pieces; endless non-gzip stream -> 400, cut after ${cutAfter} ms (${junk} x 64 KiB written)`;
  });
});

test('slow clients are cut off by -read-header-timeout and -read-timeout with 408; a request that is not HTTP gets 400', async () => {
  await underLoad('slow clients', ['-read-header-timeout', '2s', '-read-timeout', '4s'], async ({ gateway, ca }) => {
    /** Sends `text` one byte per second after `head` (bounded by its length); resolves with the answer and the time taken. */
    const slow = async (head: string, text: Buffer): Promise<{ status: number; body: string; ms: number; bytes: number }> => {
      const c = await rawConnect(gateway.port, ca);
      const started = Date.now();
      if (head) await c.write(head);
      let bytes = 0;
      let done = false;
      void c.closed.then(() => (done = true));
      for (let i = 0; i < text.length; i++) {
        if (done || !(await c.write(text.subarray(i, i + 1)))) break;
        bytes++;
        await Promise.race([new Promise((r) => setTimeout(r, 1000)), c.closed]);
      }
      const raw = await c.closed;
      const r = parseResponse(raw);
      return { status: r.status, body: r.body, ms: Date.now() - started, bytes };
    };
    // A valid gzip body, so it is the timeout that answers, not the gzip check.
    const gz = gzipSync('hardening.slow 1 1700000000\n'.repeat(20));
    const request = postHead('/ingest', KEY, gz.length);
    const [headers, body, silent] = await Promise.all([slow('', Buffer.from(request)), slow(request, gz), slow('', Buffer.alloc(0))]);
    for (const r of [headers, body, silent]) assert.deepEqual([r.status, r.body], [408, 'Request Timeout\n']);
    // Lower bounds: the timeouts themselves; upper bounds: far below Node's defaults, with room for a busy machine.
    assert.ok(headers.ms >= 1900 && headers.ms < 5000, `headers cut off after ${headers.ms} ms`);
    assert.ok(silent.ms >= 1900 && silent.ms < 5000, `silent connection cut off after ${silent.ms} ms`);
    assert.ok(body.ms >= 3900 && body.ms < 7500, `body cut off after ${body.ms} ms`);
    // A request that does not parse as HTTP is answered 400 and closed.
    const garbage = await rawConnect(gateway.port, ca);
    await garbage.write('HELLO gateway\r\n\r\n');
    const bad = parseResponse(await garbage.closed);
    assert.deepEqual([bad.status, bad.body], [400, 'Bad Request\n']);
    return `header trickle cut after ${headers.ms} ms (${headers.bytes} B), body trickle after ${body.ms} ms (${body.bytes} B), silent connection after ${silent.ms} ms`;
  });
});

test('-max-connections refuses connections over the limit; idle ones are reclaimed by the header timeout', async () => {
  await underLoad('connection limit', ['-max-connections', '10', '-read-header-timeout', '2s'], async ({ gateway, ca }) => {
    const opened: RawConnection[] = [];
    let refused = 0;
    // A connection that never even starts the TLS handshake takes a slot too.
    const started = Date.now();
    const plain = connect(gateway.port, '127.0.0.1');
    plain.on('error', () => {});
    const plainClosed = new Promise<number>((r) => plain.once('close', () => r(Date.now() - started)));
    await new Promise((r) => plain.once('connect', r));
    let noHandshakeMs = 0;
    try {
      // The proxy holds at most its 2 worker connections; with the plain one, 12 more cannot all fit into 10.
      for (let i = 0; i < 12; i++) {
        try {
          opened.push(await rawConnect(gateway.port, ca));
        } catch {
          refused++;
        }
      }
      assert.ok(refused >= 3 && opened.length <= 9, `${opened.length} accepted, ${refused} refused`);
      assert.equal(await scrapeCounter(gateway.statPort, 'polymur_connections_refused_total'), refused);
      // Every idle connection holds its slot only until the header timeout.
      const answers = await Promise.all(opened.map(async (c) => parseResponse(await c.closed).status));
      assert.deepEqual(
        answers,
        opened.map(() => 408),
      );
      noHandshakeMs = await plainClosed;
      assert.ok(noHandshakeMs >= 1900 && noHandshakeMs < 5000, `no-handshake connection cut after ${noHandshakeMs} ms`);
      const after = await rawPost(gateway.port, ca, '/ping', KEY, Buffer.alloc(0));
      assert.deepEqual([after.status, after.body], [200, 'key is valid\n']);
    } finally {
      plain.destroy();
      for (const c of opened) c.socket.destroy();
    }
    return `${opened.length} idle connections accepted then closed with 408, ${refused} refused, a connection without TLS handshake cut after ${noHandshakeMs} ms`;
  });
});

test('a line over the length limit is dropped and counted; the rest of its batch is delivered', async () => {
  await underLoad('long lines', [], async ({ gateway, ca, sink }) => {
    const long = `hardening.${'a'.repeat(100_000)} 1 1700000000\n`;
    const batch = Buffer.from(`hardening.before 1 1700000000\n${long}hardening.after 2 1700000000\n${'b'.repeat(20_000)}`);
    const r = await rawPost(gateway.port, ca, '/ingest', KEY, gzipSync(batch));
    assert.deepEqual([r.status, r.body], [200, 'Batch Received\n']);
    await until('the short lines at the sink', () => sink.lines.filter((l) => l.startsWith('hardening.')).length >= 2, 10_000);
    assert.deepEqual(
      sink.lines.filter((l) => l.startsWith('hardening.')),
      ['hardening.before 1 1700000000', 'hardening.after 2 1700000000'],
    );
    assert.equal(await scrapeCounter(gateway.statPort, 'polymur_points_invalid_total'), 2);
    return 'batch with a 100 kB line and a 20 kB unterminated tail: 2 lines delivered, 2 counted too_long';
  });
});

test('failed authentications are limited per address with 429; valid clients from the same address are never refused', async () => {
  // Attacker, a raw client with the valid key and the proxy all come from 127.0.0.1, as clients
  // behind one NAT or load balancer do: the limiter must tell them apart by their keys.
  await underLoad('auth failures', [], async ({ gateway, ca, sink }) => {
    const bad = gzipSync('x.y 1 1700000000\n');
    const attempt = async (i: number): Promise<string> => {
      const r = await rawPost(gateway.port, ca, '/ingest', `wrong-key-${i}`, bad);
      return `${r.status} ${r.body}${r.headers['retry-after'] ? ` retry-after ${r.headers['retry-after']}` : ''}`;
    };
    const answers: string[] = [];
    const firstFailureAt = Date.now();
    for (let i = 0; i < 20; i++) answers.push(await attempt(i));
    // The address is now over the limit: more guesses are refused, the valid key still goes through.
    const attacker = (async () => {
      for (let i = 20; i < 25; i++) answers.push(await attempt(i));
    })();
    const valid = (async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 25; i++) {
        statuses.push((await rawPost(gateway.port, ca, '/ingest', KEY, gzipSync(`hardening.valid ${i} 1700000000\n`))).status);
      }
      return statuses;
    })();
    const [, statuses] = await Promise.all([attacker, valid]);
    // Retry-After is what is left of the minute that began at the first failure, in whole seconds.
    const leftAtMost = 60;
    const leftAtLeast = 60 - Math.ceil((Date.now() - firstFailureAt) / 1000);
    const retryAfters = answers.slice(20).map((a) => Number(/ retry-after (\d+)$/.exec(a)?.[1]));
    assert.ok(
      retryAfters.every((s) => s >= leftAtLeast && s <= leftAtMost),
      `Retry-After ${retryAfters.join(', ')} s, ${leftAtLeast}-${leftAtMost} s left of the window`,
    );
    assert.deepEqual(
      answers.map((a) => a.replace(/ retry-after \d+$/, '')),
      [...Array.from({ length: 20 }, () => '401 invalid key'), ...Array.from({ length: 5 }, () => '429 too many invalid keys\n')],
    );
    assert.deepEqual(
      statuses,
      Array.from({ length: 25 }, () => 200),
    );
    const arrived = (): number => sink.lines.filter((l) => l.startsWith('hardening.valid ')).length;
    await until("the valid client's 25 points at the sink", () => arrived() >= 25, 10_000);
    assert.equal(arrived(), 25);
    assert.equal(await scrapeCounter(gateway.statPort, 'polymur_auth_failures_total'), 20);
    return 'attacker at 127.0.0.1: 20 x 401 then 5 x 429; valid client at 127.0.0.1 meanwhile: 25 x 200, 25 points arrived';
  });
});
