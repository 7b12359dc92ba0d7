// UDP cannot push back, so its losses must show: a burst above what the socket's receive buffer
// holds (the polymur relay stopped, SIGSTOP, while the burst arrives) is dropped by the kernel, and
// /metrics counts exactly what the kernel reports for the socket; datagrams read while the batch
// queue is full are counted as queue_full. Every line sent is delivered or counted as dropped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { freePort } from '../helpers/carbon.js';
import { scrapeCounter, until } from '../helpers/points.js';
import { startRelay, type RelayProcess } from '../../harness/system.js';
import { startTcpSink, type TcpSink } from '../helpers/tcp-sink.js';

const LINES_PER_DATAGRAM = 5;

/** The kernel's drop count of the UDP socket bound to 127.0.0.1:port (/proc/net/udp, the `drops` column). */
function kernelDrops(port: number): number {
  const local = `0100007F:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  const row = readFileSync('/proc/net/udp', 'latin1')
    .split('\n')
    .find((r) => r.trim().split(/\s+/)[1] === local);
  assert.ok(row, `a socket on ${local} in /proc/net/udp`);
  return Number(row.trim().split(/\s+/)[12]);
}

async function udpPort(relay: RelayProcess): Promise<{ port: number; buffer: number }> {
  const m = await relay.waitForLog(/UDP listener started: \S+:(\d+) \(receive buffer (\d+) bytes/);
  return { port: Number(m[1]), buffer: Number(m[2]) };
}

/** Datagrams numbered from `first`, each of LINES_PER_DATAGRAM lines `udp.d<datagram>.l<line> 1 1700000000`. */
async function sendDatagrams(port: number, first: number, count: number, paceEvery = 0): Promise<void> {
  const client = createSocket('udp4');
  try {
    for (let d = first; d < first + count; d++) {
      const lines = Array.from({ length: LINES_PER_DATAGRAM }, (_, l) => `udp.d${d}.l${l} 1 1700000000\n`).join('');
      await new Promise<void>((resolve, reject) => client.send(lines, port, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      if (paceEvery > 0 && d % paceEvery === 0) await new Promise((r) => setTimeout(r, 5));
    }
  } finally {
    client.close();
  }
}

/** The datagrams whose lines reached the sink, each whole (a datagram is never split or joined). */
function arrivedDatagrams(sink: TcpSink): Set<number> {
  const perDatagram = new Map<number, number>();
  for (const line of sink.lines) {
    const d = Number(/^udp\.d(\d+)\.l\d+ /.exec(line)?.[1]);
    perDatagram.set(d, (perDatagram.get(d) ?? 0) + 1);
  }
  for (const [d, n] of perDatagram) assert.equal(n, LINES_PER_DATAGRAM, `datagram ${d}: ${n} lines`);
  return new Set(perDatagram.keys());
}

test('a burst above the receive buffer: the kernel drops, /metrics counts exactly what the kernel reports, the rest arrives', async () => {
  const sink = await startTcpSink();
  const relay = await startRelay(['-destinations', sink.address, '-listen-udp', '127.0.0.1:0', '-udp-receive-buffer', '65536', '-flush-interval', '50ms']);
  try {
    const { port, buffer } = await udpPort(relay);
    const sent = 3_000;
    // The relay reads nothing while stopped: the burst meets only the socket's buffer.
    relay.proc.kill('SIGSTOP');
    try {
      await sendDatagrams(port, 0, sent);
    } finally {
      relay.proc.kill('SIGCONT');
    }
    const kernel = kernelDrops(port);
    assert.ok(kernel > 0, 'the kernel dropped part of the burst');
    await until("the relay to count the kernel's drops", async () => (await scrapeCounter(relay.statPort, 'polymur_udp_datagrams_dropped_total')) === kernel, 15_000);
    await until('every datagram the kernel kept, at the sink', () => sink.lines.length === (sent - kernel) * LINES_PER_DATAGRAM, 15_000);
    assert.equal(arrivedDatagrams(sink).size, sent - kernel);
    assert.equal(await scrapeCounter(relay.statPort, 'polymur_udp_datagrams_total'), sent - kernel);
    assert.match(relay.stderr(), new RegExp(`UDP: the kernel dropped ${kernel} datagrams on 127\\.0\\.0\\.1:${port}`));
    console.log(
      `# UDP burst of ${sent} datagrams (${sent * LINES_PER_DATAGRAM} points) at a stopped relay, receive buffer ${buffer} bytes: kernel dropped ${kernel}, polymur_udp_datagrams_dropped_total{reason="receive_buffer"} ${kernel}; ${sent - kernel} datagrams (${sink.lines.length} points) delivered, none lost unaccounted`,
    );
  } finally {
    await relay.stop();
    await sink.close();
  }
});

test('datagrams read while the batch queue is full are counted as queue_full, and reading resumes when it drains', async () => {
  // The destination is down at first: its queue fills, the relay's batcher is refused.
  const destination = await freePort();
  const relay = await startRelay([
    '-destinations',
    `127.0.0.1:${destination}`,
    '-listen-udp',
    '127.0.0.1:0',
    '-outgoing-queue-cap',
    '100',
    '-batch-size',
    '10',
    '-flush-interval',
    '20ms',
  ]);
  let sink: TcpSink | undefined;
  try {
    const { port } = await udpPort(relay);
    const sent = 400;
    await sendDatagrams(port, 0, sent, 20);
    await until('datagrams counted as queue_full', async () => (await scrapeCounter(relay.statPort, 'polymur_udp_datagrams_total')) === sent, 15_000);
    const fullDrops = await scrapeCounter(relay.statPort, 'polymur_udp_datagrams_dropped_total');
    assert.ok(fullDrops > 0 && kernelDrops(port) === 0, `${fullDrops} queue_full drops, none by the kernel`);

    sink = await startTcpSink(destination);
    const s = sink;
    await until('what the relay kept, at the sink', () => s.lines.length === (sent - fullDrops) * LINES_PER_DATAGRAM, 30_000);
    // Reading resumed: a later datagram goes through.
    await sendDatagrams(port, sent, 1);
    await until('the datagram after the queue drained', () => s.lines.length === (sent - fullDrops + 1) * LINES_PER_DATAGRAM, 15_000);
    assert.equal(arrivedDatagrams(s).size + fullDrops, sent + 1);
    assert.equal(await scrapeCounter(relay.statPort, 'polymur_udp_datagrams_dropped_total'), fullDrops);
    assert.match(relay.stderr(), new RegExp(`UDP: dropped ${fullDrops} datagrams read while the batch queue was full`));
    console.log(`# ${sent} datagrams at a relay whose destination was down: ${fullDrops} dropped as queue_full (counted), ${sent - fullDrops} delivered once it came up`);
  } finally {
    await relay.stop();
    await sink?.close();
  }
});
