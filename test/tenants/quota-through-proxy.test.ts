// The rate limit enforced without loss, end to end: a real proxy offers 5x its key's rate for 20 s
// to a real gateway; the gateway answers 429 + Retry-After, the proxy keeps the data and waits, and
// the key's points arrive at its rate (never above it). Then the limit is lifted with polymur-keys
// while everything runs and the backlog drains: every point arrives, none twice. Meanwhile another
// key's points go through the same gateway from a second proxy, never refused, their latency
// measured before and during the flood.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { sendLoad } from '../../harness/load-generator.js';
import { runToExit } from '../../harness/programs.js';
import { delivery, until } from '../helpers/points.js';
import { startGateway, startProxy, writeKeyFile } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

const HEAVY = 'quota-heavy-key-0123456789abcdef0123';
const LIGHT = 'quota-light-key-0123456789abcdef0123';
const RATE = 1000;
const OFFERED = 5 * RATE;
const FLOOD_SECONDS = 20;
const PROBE_EVERY_MS = 20;
const PROXY_ARGS = ['-flush-interval', '100ms', '-batch-size', '500', '-queue-cap', '200000', '-verbose=false'];

const percentile = (sorted: readonly number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

test(`quota: ${OFFERED} points/s offered for ${FLOOD_SECONDS} s to a key limited to ${RATE}/s arrive at that rate, all of them; another key keeps its latency`, async () => {
  const sent = new Map<number, number>();
  const latencies: Array<{ at: number; ms: number }> = [];
  const sink = await startTcpSink(0, '127.0.0.1', (line) => {
    if (!line.startsWith('light.probe ')) return;
    const seq = Number(line.split(' ')[1]);
    const at = Date.now();
    latencies.push({ at, ms: at - sent.get(seq)! });
  });
  const keyFile = writeKeyFile({ heavy: HEAVY, light: LIGHT });
  const keys = (...args: string[]) => runToExit('keys', ['-key-store', keyFile.url, ...args]);
  assert.equal((await keys('limit', 'heavy', '-points-per-second', String(RATE), '-burst', String(RATE))).code, 0);
  const gateway = await startGateway({ keyFile, args: ['-destinations', sink.address] });
  const heavy = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: HEAVY, args: PROXY_ARGS });
  const light = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: LIGHT, args: PROXY_ARGS });
  const probe = connect(light.port, '127.0.0.1');
  await once(probe, 'connect');
  let seq = 0;
  const probing = setInterval(() => {
    sent.set(seq, Date.now());
    probe.write(`light.probe ${seq++} 1700000000\n`);
  }, PROBE_EVERY_MS);
  try {
    // The other key alone first: its latency without the flood.
    await new Promise((r) => setTimeout(r, 4000));
    const floodStart = Date.now();
    const points = OFFERED * FLOOD_SECONDS;
    const heavyLines = (): string[] => sink.lines.filter((l) => !l.startsWith('light.'));
    const sending = sendLoad({ port: heavy.port, connections: 1, points, ratePerSecond: OFFERED });
    await sending;
    const duringFlood = heavyLines().length;
    const floodSeconds = (Date.now() - floodStart) / 1000;
    // What a 1000-point bucket at 1000/s lets through in that time, at most.
    assert.ok(duringFlood <= RATE * floodSeconds + RATE, `${duringFlood} points in ${floodSeconds} s is over the key's rate`);
    assert.ok(duringFlood >= 0.3 * RATE * floodSeconds, `${duringFlood} points in ${floodSeconds} s: the throttled key is starved, not paced`);
    const refused = await scrape(gateway.statPort, 'polymur_tenant_requests_total{key="heavy",code="429"}');
    assert.ok(refused > 0, 'the flood was refused with 429');
    // Lifted while everything runs: the backlog the proxy kept drains.
    const lifted = Date.now();
    assert.equal((await keys('limit', 'heavy', '-points-per-second', '0')).code, 0);
    await until('every point of the flood at the sink', () => delivery(heavyLines(), 1, points).missing === 0, 90_000);
    const drainSeconds = (Date.now() - lifted) / 1000;
    clearInterval(probing);
    await until('the last probes', () => latencies.length >= seq - 1, 10_000);
    const d = delivery(heavyLines(), 1, points);
    const lightRefused = await scrape(gateway.statPort, 'polymur_tenant_requests_total{key="light",code="429"}');
    const before = latencies
      .filter((l) => l.at < floodStart)
      .map((l) => l.ms)
      .sort((a, b) => a - b);
    const during = latencies
      .filter((l) => l.at >= floodStart && l.at < lifted)
      .map((l) => l.ms)
      .sort((a, b) => a - b);
    process.stdout.write(
      `# quota: offered ${points} points at ${OFFERED}/s (${(points / floodSeconds).toFixed(0)}/s measured) to a key limited to ${RATE}/s burst ${RATE}; ` +
        `delivered ${duringFlood} in the ${floodSeconds.toFixed(1)} s of the flood = ${(duringFlood / floodSeconds).toFixed(0)}/s; ${refused} batches answered 429; ` +
        `limit lifted, the rest drained in ${drainSeconds.toFixed(1)} s; sent ${d.sent}, arrived ${d.arrived}, lost ${d.missing}, duplicated ${d.duplicated}\n` +
        `# other key: ${before.length} probes before the flood p50 ${percentile(before, 0.5)} ms p99 ${percentile(before, 0.99)} ms; ` +
        `${during.length} during it p50 ${percentile(during, 0.5)} ms p99 ${percentile(during, 0.99)} ms max ${during.at(-1)} ms; ${lightRefused} of its batches answered 429\n`,
    );
    assert.equal(d.missing, 0);
    assert.equal(lightRefused, 0, "the other key's batches are never refused for the heavy key's rate");
    assert.equal(latencies.length, seq, 'every probe of the other key arrived');
  } finally {
    clearInterval(probing);
    probe.destroy();
    await light.stop();
    await heavy.stop();
    await gateway.stop();
    await sink.close();
  }
});

async function scrape(statPort: number, series: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${statPort}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}
