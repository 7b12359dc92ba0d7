// Hardening of the Graphite plaintext listener (src/input/tcp-listener.ts) in a real polymur-proxy
// process, with a real gateway and a TCP sink behind it: an endless line, too many connections and
// silent connections are dealt with, memory stays bounded, and a well-behaved client sending at
// the same time loses nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { sendLoad } from '../../harness/load-generator.js';
import { assertLoadDelivered, peakRssMb, scrapeCounter, until } from '../helpers/points.js';
import { startGateway, startProxy, type ListenerProcess } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

const CONNECTIONS = 2;
const POINTS = 20_000;

async function underLoad(name: string, proxyArgs: string[], attack: (proxy: ListenerProcess, sink: TcpSink) => Promise<string>): Promise<void> {
  const sink = await startTcpSink();
  const gateway = await startGateway({ args: ['-destinations', sink.address] });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, args: ['-flush-interval', '100ms', '-verbose=false', ...proxyArgs] });
  try {
    const sending = sendLoad({ port: proxy.port, connections: CONNECTIONS, points: POINTS, ratePerSecond: 5_000 });
    // The well-behaved client is connected (and counted) before the attack starts.
    await sink.waitForLines(1_000);
    const figures = await attack(proxy, sink);
    await sending;
    await assertLoadDelivered({ name, figures, sink, connections: CONNECTIONS, points: POINTS, program: 'proxy', pid: proxy.proc.pid!, maxRssMb: 200 });
  } finally {
    await proxy.stop();
    await gateway.stop();
    await sink.close();
  }
}

async function open(port: number, opts: { allowHalfOpen?: boolean; localAddress?: string } = {}): Promise<{ socket: Socket; closedAt: Promise<number>; endedAt: Promise<number> }> {
  const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: opts.allowHalfOpen ?? false, ...(opts.localAddress ? { localAddress: opts.localAddress } : {}) });
  socket.on('error', () => {});
  socket.resume();
  const closedAt = new Promise<number>((r) => socket.once('close', () => r(Date.now())));
  const endedAt = new Promise<number>((r) => socket.once('end', () => r(Date.now())));
  await once(socket, 'connect');
  return { socket, closedAt, endedAt };
}

test('a line without LF far over the limit is skipped as it streams: memory flat, counted, the connection goes on', async () => {
  await underLoad('endless line', [], async (proxy, sink) => {
    const before = peakRssMb(proxy.proc.pid!);
    const { socket, closedAt } = await open(proxy.port);
    // 256 MiB of one "line" in 64 KiB writes, honouring backpressure; bounded in count.
    const piece = Buffer.alloc(64 * 1024, 'a');
    const pieces = 4096;
    for (let i = 0; i < pieces; i++) if (!socket.write(piece)) await once(socket, 'drain');
    socket.end('\nhardening.after.endless 1 1700000000\n');
    await closedAt;
    await until('the line after the endless one', () => sink.lines.includes('hardening.after.endless 1 1700000000'), 15_000);
    const after = peakRssMb(proxy.proc.pid!);
    assert.equal(await scrapeCounter(proxy.statPort, 'polymur_points_invalid_total'), 1);
    assert.ok(after - before < 40, `proxy peak RSS grew by ${(after - before).toFixed(1)} MB while reading a 256 MiB line`);
    return `256 MiB line without LF: counted once as too_long, the next line delivered; proxy peak RSS ${before} -> ${after} MB`;
  });
});

test('-max-connections: connections over the limit are closed at once and counted', async () => {
  await underLoad('connection limit', ['-max-connections', '5'], async (proxy) => {
    // The well-behaved client holds 2; 6 more cannot all fit into 5.
    const extra = await Promise.all(Array.from({ length: 6 }, () => open(proxy.port)));
    try {
      const started = Date.now();
      const refused = (await Promise.all(extra.map((c) => Promise.race([c.closedAt, new Promise<number>((r) => setTimeout(() => r(0), 1500))])))).filter((t) => t > 0);
      assert.equal(refused.length, 3, `${refused.length} of 6 extra connections closed by the proxy`);
      assert.ok(Math.max(...refused) - started < 1000, 'refused at once');
      assert.equal(await scrapeCounter(proxy.statPort, 'polymur_connections_refused_total'), 3);
      return '6 extra connections next to 2 busy ones under -max-connections 5: 3 kept, 3 refused and counted';
    } finally {
      for (const c of extra) c.socket.destroy();
    }
  });
});

test('-idle-timeout: a silent connection is closed, its last line delivered; one kept half-open is cut', async () => {
  await underLoad('idle timeout', ['-idle-timeout', '2s'], async (proxy, sink) => {
    const polite = await open(proxy.port);
    const started = Date.now();
    polite.socket.write('hardening.idle.last 7 1700000000');
    const stubborn = await open(proxy.port, { allowHalfOpen: true });
    const deadline = (p: Promise<number>, what: string): Promise<number> =>
      Promise.race([p, new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`${what} within 10 s`)), 10_000))]);
    const [politeClosed, stubbornEnded] = await Promise.all([deadline(polite.closedAt, 'polite connection closed'), deadline(stubborn.endedAt, 'FIN to the half-open one')]);
    // The half-open client learns that the proxy let go only when it writes: an empty line every 200 ms.
    const probe = setInterval(() => stubborn.socket.write('\n'), 200);
    const stubbornClosed = await deadline(stubborn.closedAt, 'half-open connection cut').finally(() => clearInterval(probe));
    await until('the unterminated last line', () => sink.lines.includes('hardening.idle.last 7 1700000000'), 10_000);
    const t = (at: number): number => at - started;
    assert.ok(t(politeClosed) >= 1900 && t(politeClosed) < 4500, `polite connection closed after ${t(politeClosed)} ms`);
    assert.ok(t(stubbornEnded) >= 1900 && t(stubbornEnded) < 4500, `FIN to the half-open one after ${t(stubbornEnded)} ms`);
    assert.ok(t(stubbornClosed) >= 3900 && t(stubbornClosed) < 8000, `half-open one cut after ${t(stubbornClosed)} ms`);
    return `idle connection closed after ${t(politeClosed)} ms with its last line delivered; half-open one got FIN at ${t(stubbornEnded)} ms, cut at ${t(stubbornClosed)} ms`;
  });
});

test('-max-connections-per-ip: one address holding its limit of idle connections is refused more; the client at another address loses nothing', async () => {
  const limit = 4;
  await underLoad('connections per address', ['-max-connections-per-ip', String(limit)], async (proxy, sink) => {
    const held = await Promise.all(Array.from({ length: limit }, () => open(proxy.port, { localAddress: '127.0.0.2' })));
    const extra = await Promise.all(Array.from({ length: 3 }, () => open(proxy.port, { localAddress: '127.0.0.2' })));
    try {
      const within = (p: Promise<number>, ms: number): Promise<number> => Promise.race([p, new Promise<number>((r) => setTimeout(() => r(0), ms))]);
      const refused = (await Promise.all(extra.map((c) => within(c.closedAt, 3000)))).filter((t) => t > 0).length;
      const heldClosed = (await Promise.all(held.map((c) => within(c.closedAt, 100)))).filter((t) => t > 0).length;
      assert.deepEqual({ refused, heldClosed }, { refused: 3, heldClosed: 0 });
      assert.equal(await scrapeCounter(proxy.statPort, 'polymur_connections_refused_per_ip_total'), 3);
      // A held connection works: its line is delivered.
      held[0]!.socket.write('hardening.perip.held 1 1700000000\n');
      await until("the held connection's line", () => sink.lines.includes('hardening.perip.held 1 1700000000'), 10_000);
      return `127.0.0.2 held ${limit} idle connections, 3 more refused at once and counted; the client at 127.0.0.1 kept streaming`;
    } finally {
      for (const c of [...held, ...extra]) c.socket.destroy();
    }
  });
});
