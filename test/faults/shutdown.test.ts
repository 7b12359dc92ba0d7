// SIGTERM while blocked, with real processes on 127.0.0.1: whatever is stuck (a gateway that
// refuses connections, requests hanging on a frozen link, a destination that accepts and never
// reads, a gateway that never answers the first ping), the program exits within -shutdown-timeout plus one second and logs how many
// data points it could not deliver; every point sent either arrived or is in that count, or is
// still in the spool (and arrives after a restart). SIGHUP kills none of the three programs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { sendLoad } from '../../harness/load-generator.js';
import { freePort } from '../helpers/carbon.js';
import { makeCert } from '../../harness/certs.js';
import { startFreezeProxy } from '../helpers/freeze-proxy.js';
import { sendText } from '../helpers/graphite-stream.js';
import { post } from '../helpers/https-post.js';
import { postHead, rawConnect } from '../helpers/raw-http.js';
import { delivery, peakRssMb, scrapeCounter, until } from '../helpers/points.js';
import { startProgram, type Exit, type RunningProgram } from '../../harness/programs.js';
import { startGateway, startProxy, startRelay } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

const SHUTDOWN_TIMEOUT_S = 2;
/** What the issue asks: within -shutdown-timeout plus one second. */
const BOUND_S = SHUTDOWN_TIMEOUT_S + 1;
const SHUTDOWN = ['-shutdown-timeout', `${SHUTDOWN_TIMEOUT_S}s`];

/** Sends SIGTERM (or `signal`) and measures how long the process took to exit, and its peak RSS before. */
async function sigterm(p: RunningProgram, signal: NodeJS.Signals = 'SIGTERM'): Promise<Exit & { seconds: number; rssMb: number }> {
  const rssMb = peakRssMb(p.proc.pid!);
  const started = Date.now();
  p.proc.kill(signal);
  const exit = await p.exited;
  return { ...exit, seconds: (Date.now() - started) / 1000, rssMb };
}

function assertBounded(what: string, seconds: number): void {
  assert.ok(seconds <= BOUND_S, `${what} exited ${seconds.toFixed(2)} s after SIGTERM; the bound is ${BOUND_S} s (-shutdown-timeout ${SHUTDOWN_TIMEOUT_S}s + 1 s)`);
}

/** The count the program logged at exit. */
function undeliveredLogged(p: RunningProgram): number {
  const m = /Shutdown: (\d+) data points could not be delivered before the shutdown timeout/.exec(p.stderr());
  assert.ok(m, `no undelivered count in the log:\n${p.stderr().slice(-2000)}`);
  return Number(m[1]);
}

const CHUNK_POINTS = 2000;

/** Lines whose value is their id, from `first` on (what delivery() counts). */
function lines(first: number): string {
  return Array.from({ length: CHUNK_POINTS }, (_, i) => `shutdown.m${i % 100} ${first + i} 1700000000\n`).join('');
}

function chunk(first: number): Buffer {
  return Buffer.from(lines(first));
}

/**
 * One client connection that writes until `full()` says the program is blocked, then stops writing
 * and keeps the connection open. Every point handed to the socket counts as sent: it is in the
 * kernel or in the socket's buffer, and the program reads it at close().
 */
async function writeUntilBlocked(port: number, full: () => Promise<boolean>): Promise<{ sent: number; socket: Socket }> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.on('error', () => undefined);
  let sent = 0;
  let drained = true;
  socket.on('drain', () => (drained = true));
  for (;;) {
    await until('the client can write again or the program is blocked', async () => drained || (await full()), 60_000);
    if (await full()) return { sent, socket };
    drained = socket.write(chunk(sent));
    sent += CHUNK_POINTS;
  }
}

/** A gateway URL where nothing listens: every connect is refused. */
async function refusingGateway(): Promise<string> {
  return `https://localhost:${await freePort()}`;
}

/**
 * A proxy whose gateway fails (`gatewayUrl`), its queue filled by one client until it stops
 * reading, then SIGTERM: bounded exit, and every point the client sent is in the logged count.
 */
async function proxyBlocked(
  name: string,
  gatewayUrl: string,
  cert: ReturnType<typeof makeCert>,
  extraArgs: string[],
  ready?: (p: RunningProgram) => Promise<unknown>,
): Promise<void> {
  const proxy = await startProxy({
    gateway: gatewayUrl,
    cert,
    args: [...SHUTDOWN, '-queue-cap', '2', '-batch-size', '1000', '-flush-interval', '100ms', '-max-retry-delay', '1s', ...extraArgs],
  });
  try {
    await ready?.(proxy);
    // Nothing leaves: more points than the queue, the compressing stage and one batch can hold
    // means the queue is full and the proxy has stopped reading.
    const { sent: points, socket } = await writeUntilBlocked(proxy.port, async () => (await scrapeCounter(proxy.statPort, 'polymur_points_received_total')) >= 5_000);
    const exit = await sigterm(proxy);
    socket.destroy();
    const undelivered = undeliveredLogged(proxy);
    process.stdout.write(
      `# proxy SIGTERM (${name}, queue full): exited in ${exit.seconds.toFixed(2)} s (code ${exit.code}), peak RSS ${exit.rssMb} MB; sent ${points}, arrived 0, reported undelivered ${undelivered}\n`,
    );
    assertBounded('the proxy', exit.seconds);
    // The client's last bytes were read at close: every point sent is in the count.
    assert.equal(undelivered, points);
    assert.equal(exit.code, 0, 'a stop that kept its bound exits 0');
  } finally {
    await proxy.stop('SIGKILL');
  }
}

test('proxy: SIGTERM with the gateway refusing and the queue full exits within the bound and counts every point it held', async () => {
  await proxyBlocked('gateway refusing connections', await refusingGateway(), makeCert(), ['-timeout', '1s']);
});

test('proxy: SIGTERM with requests hanging in flight (the link to the gateway frozen) exits within the bound and counts every point', async () => {
  const sink = await startTcpSink();
  const gateway = await startGateway({ args: ['-destinations', sink.address] });
  const link = await startFreezeProxy(gateway.port);
  try {
    // -timeout 60s: only the shutdown can end the requests in flight.
    await proxyBlocked('requests hanging on a frozen link, -timeout 60s', `https://localhost:${link.port}`, gateway.cert, ['-timeout', '60s'], async (proxy) => {
      await proxy.waitForLog(/Connection to gateway .* successful/);
      link.freeze();
    });
    assert.equal(sink.lines.length, 0, 'nothing passed the frozen link');
  } finally {
    await link.close();
    await gateway.stop();
    await sink.close();
  }
});

test('relay: SIGTERM with a destination that never reads and its queue full exits within the bound; arrived + reported = sent', async () => {
  const sink = await startTcpSink();
  sink.pause();
  const relay = await startRelay([...SHUTDOWN, '-destinations', sink.address, '-outgoing-queue-cap', '2000', '-batch-size', '500', '-flush-interval', '100ms']);
  try {
    // Past what the kernel's socket buffers to the destination take in: its queue fills.
    const { sent: points, socket } = await writeUntilBlocked(relay.port, async () => (await scrapeCounter(relay.statPort, 'polymur_queue_points')) >= 2000);
    const exit = await sigterm(relay);
    socket.destroy();
    const undelivered = undeliveredLogged(relay);
    sink.resume();
    // What the kernel held for the destination arrives now; the rest is in the count.
    await until('what the kernel held at the sink', () => delivery(sink.lines, 1, points).distinct + undelivered >= points, 30_000);
    const d = delivery(sink.lines, 1, points);
    process.stdout.write(
      `# relay SIGTERM (destination never reads, queue full): exited in ${exit.seconds.toFixed(2)} s (code ${exit.code}), peak RSS ${exit.rssMb} MB; sent ${points}, arrived ${d.distinct}, reported undelivered ${undelivered}, unaccounted ${Math.max(0, points - d.distinct - undelivered)}\n`,
    );
    assertBounded('the relay', exit.seconds);
    assert.ok(undelivered > 0);
  } finally {
    await relay.stop('SIGKILL');
    await sink.close();
  }
});

test('gateway: SIGTERM with a destination that never reads and its queue full exits within the bound; arrived + reported = accepted', async () => {
  const sink = await startTcpSink();
  sink.pause();
  const gateway = await startGateway({ args: [...SHUTDOWN, '-destinations', sink.address, '-outgoing-queue-cap', '2000'] });
  try {
    let accepted = 0;
    let next = 0;
    // Batches until the gateway answers 503 (its destination queue is full).
    for (let i = 0; i < 1000; i++) {
      const reply = await post(gateway.port, '/ingest', { 'X-Polymur-Key': '123' }, gzipSync(lines(next)), gateway.cert.cert);
      if (reply.status === 503) break;
      assert.equal(reply.status, 200);
      accepted += CHUNK_POINTS;
      next += CHUNK_POINTS;
    }
    assert.ok(accepted > 0 && accepted < 2_000_000, `the gateway refused at last (${accepted} points accepted)`);
    // And a request in flight that never completes (half its body, then silence; -read-timeout is 60 s).
    const body = gzipSync(lines(0));
    const stalled = await rawConnect(gateway.port, gateway.cert.cert);
    await stalled.write(postHead('/ingest', '123', body.length));
    await stalled.write(body.subarray(0, body.length >> 1));
    const exit = await sigterm(gateway);
    await stalled.closed;
    const undelivered = undeliveredLogged(gateway);
    sink.resume();
    const arrived = (): number => new Set(sink.lines.map((l) => l.split(' ')[1])).size;
    await until('what the kernel held at the sink', () => arrived() + undelivered >= accepted, 30_000);
    process.stdout.write(
      `# gateway SIGTERM (destination never reads, queue full, a request stalled mid-body): exited in ${exit.seconds.toFixed(2)} s (code ${exit.code}), peak RSS ${exit.rssMb} MB; accepted ${accepted}, arrived ${arrived()}, reported undelivered ${undelivered}\n`,
    );
    assertBounded('the gateway', exit.seconds);
    assert.ok(undelivered > 0);
  } finally {
    await gateway.stop('SIGKILL');
    await sink.close();
  }
});

test('gateway: SIGTERM during start-up, the key store never answering, exits at once and releases what is open', async () => {
  // Accepts connections and never answers: the first read of the keys (etcd) hangs in start().
  const silent = await startTcpSink();
  silent.pause();
  const cert = makeCert();
  const gateway = startProgram('gateway', [
    '-listen-addr',
    '127.0.0.1',
    '-listen-https-port',
    '0',
    '-cert',
    cert.certPath,
    '-key',
    cert.keyPath,
    '-console-out',
    '-stat-addr',
    '127.0.0.1:0',
    '-key-store',
    `etcd://127.0.0.1:${silent.port}`,
    ...SHUTDOWN,
  ]);
  try {
    await gateway.waitForLog(/::: Polymur-gateway :::/);
    await until('the key store connection is open', () => silent.connections() > 0, 10_000);
    const exit = await sigterm(gateway);
    process.stdout.write(`# gateway SIGTERM during start-up (key store never answering): exited in ${exit.seconds.toFixed(2)} s (code ${exit.code})\n`);
    assertBounded('the gateway', exit.seconds);
    assert.match(gateway.stderr(), /Received SIGTERM during start-up/);
    assert.match(gateway.stderr(), /Shutdown during start-up: released keys/);
    assert.doesNotMatch(gateway.stderr(), /listener started/, 'it never started taking batches');
    assert.equal(exit.code, 0);
  } finally {
    await gateway.stop('SIGKILL');
    await silent.close();
  }
});

test('proxy: SIGTERM while the first ping hangs (the gateway never answers, -timeout 60s) exits within the bound', async () => {
  // Accepts the connection and never answers: the TLS handshake of the first ping hangs.
  const silent = await startTcpSink();
  silent.pause();
  const proxy = await startProxy({ gateway: `https://localhost:${silent.port}`, cert: makeCert(), args: ['-timeout', '60s', ...SHUTDOWN] });
  try {
    await proxy.waitForLog(/Pinging gateway/);
    await sendText(proxy.port, 'ping.hangs 1 1700000000\n');
    await until('the point is counted', async () => (await scrapeCounter(proxy.statPort, 'polymur_points_received_total')) >= 1);
    const exit = await sigterm(proxy);
    const undelivered = undeliveredLogged(proxy);
    process.stdout.write(
      `# proxy SIGTERM while the first ping hangs (-timeout 60s): exited in ${exit.seconds.toFixed(2)} s (code ${exit.code}); sent 1, reported undelivered ${undelivered}\n`,
    );
    assertBounded('the proxy', exit.seconds);
    assert.equal(undelivered, 1);
  } finally {
    await proxy.stop('SIGKILL');
    await silent.close();
  }
});

test('proxy with a spool: SIGTERM with the gateway refusing exits within the bound; after a restart every point arrives', async () => {
  const cert = makeCert();
  const spool = mkdtempSync(join(tmpdir(), 'polymur-spool-'));
  const args = [...SHUTDOWN, '-spool-dir', spool, '-timeout', '1s', '-max-retry-delay', '1s', '-flush-interval', '100ms'];
  let proxy = await startProxy({ gateway: await refusingGateway(), cert, args });
  const sink = await startTcpSink();
  let gateway: Awaited<ReturnType<typeof startGateway>> | undefined;
  try {
    const points = 50_000;
    await sendLoad({ port: proxy.port, connections: 2, points });
    await until('the proxy counted every point', async () => (await scrapeCounter(proxy.statPort, 'polymur_points_received_total')) >= points);
    const exit = await sigterm(proxy);
    const undelivered = undeliveredLogged(proxy);
    assert.match(proxy.stderr(), new RegExp(`${points} stay in the spool`));
    assertBounded('the proxy', exit.seconds);

    gateway = await startGateway({ cert, args: ['-destinations', sink.address] });
    proxy = await startProxy({ gateway: gateway.url, cert, args });
    await until('every point at the sink', () => delivery(sink.lines, 2, points).missing === 0, 60_000);
    const d = delivery(sink.lines, 2, points);
    process.stdout.write(
      `# proxy SIGTERM with a spool (gateway refusing): exited in ${exit.seconds.toFixed(2)} s (code ${exit.code}), peak RSS ${exit.rssMb} MB, ${undelivered} left in the spool; after restart sent ${d.sent}, arrived ${d.arrived}, missing ${d.missing}, duplicated ${d.duplicated}\n`,
    );
    assert.equal(d.missing, 0);
  } finally {
    await proxy.stop();
    await gateway?.stop();
    await sink.close();
  }
});

test('relay with a spool: SIGTERM with a destination that never reads exits within the bound; after a restart every point arrives', async () => {
  const sink = await startTcpSink();
  sink.pause();
  const spool = mkdtempSync(join(tmpdir(), 'polymur-spool-'));
  // The spool, not the cap, holds what the destination does not take.
  const args = [...SHUTDOWN, '-spool-dir', spool, '-destinations', sink.address, '-outgoing-queue-cap', '10000000', '-batch-size', '500', '-flush-interval', '100ms'];
  let relay = await startRelay(args);
  try {
    // Far more than the kernel's socket buffers to the destination hold: most of it is spooled.
    const points = 300_000;
    const sending = sendLoad({ port: relay.port, connections: 2, points });
    await until('the relay counted every point', async () => (await scrapeCounter(relay.statPort, 'polymur_points_received_total')) >= points, 60_000);
    await sending;
    const exit = await sigterm(relay);
    const undelivered = undeliveredLogged(relay);
    assert.match(relay.stderr(), new RegExp(`${undelivered} stay in the spool`));
    assertBounded('the relay', exit.seconds);
    sink.resume();
    relay = await startRelay(args);
    await until('every point at the sink', () => delivery(sink.lines, 2, points).missing === 0, 60_000);
    const d = delivery(sink.lines, 2, points);
    process.stdout.write(
      `# relay SIGTERM with a spool (destination never reads): exited in ${exit.seconds.toFixed(2)} s (code ${exit.code}), peak RSS ${exit.rssMb} MB, ${undelivered} left in the spool; after restart sent ${d.sent}, arrived ${d.arrived}, missing ${d.missing}, duplicated ${d.duplicated}\n`,
    );
    assert.ok(undelivered > 0);
    assert.equal(d.missing, 0);
  } finally {
    await relay.stop();
    await sink.close();
  }
});

test('SIGHUP kills none of the three programs: each logs it and keeps delivering', async () => {
  const sink = await startTcpSink();
  const gateway = await startGateway({ args: ['-destinations', sink.address] });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, args: ['-flush-interval', '100ms'] });
  const relay = await startRelay(['-destinations', sink.address, '-flush-interval', '100ms']);
  try {
    await proxy.waitForLog(/Connection to gateway .* successful/);
    for (const p of [gateway, proxy, relay]) {
      p.proc.kill('SIGHUP');
      await p.waitForLog(/Received SIGHUP, reloading[\s\S]*Reload complete/);
    }
    await sendText(proxy.port, 'hup.proxy 1 1700000000\n');
    await sendText(relay.port, 'hup.relay 2 1700000000\n');
    await until('both points at the sink', () => sink.lines.includes('hup.proxy 1 1700000000') && sink.lines.includes('hup.relay 2 1700000000'));
    for (const p of [gateway, proxy, relay]) assert.equal(p.proc.exitCode, null, 'still running');
    process.stdout.write('# SIGHUP to gateway, proxy and relay: all three still running, points sent after it arrived\n');
    const exits = await Promise.all([sigterm(proxy), sigterm(relay, 'SIGINT')]);
    assert.deepEqual(
      exits.map((e) => e.code),
      [0, 0],
      'a clean drain exits 0, on SIGTERM as on SIGINT',
    );
    assert.match(relay.stderr(), /Received SIGINT, shutting down/);
  } finally {
    await proxy.stop();
    await relay.stop();
    await gateway.stop();
    await sink.close();
  }
});
