// What goes to carbon is what carbon accepts: infinite values, timestamps that are negative (but
// carbon's -1), non-finite or past 2^32-1, and names with NUL, control bytes, DEL, '/' or invalid
// UTF-8 are dropped and counted by reason — at the proxy's listener and at the gateway's /ingest
// (one validation, src/protocol/lines.ts), and in front of a real carbon-cache, whose whisper files
// then hold exactly the well-behaved client's metrics, which all arrive.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { once } from 'node:events';
import { gzipSync } from 'node:zlib';
import { startCarbon } from '../helpers/carbon.js';
import { underGatewayLoad } from '../helpers/gateway-under-load.js';
import { post } from '../helpers/https-post.js';
import { until } from '../helpers/points.js';
import { scrape } from '../helpers/prometheus.js';
import { startRelay } from '../../harness/system.js';

/** Hostile lines for timestamp `now`, each with the reason it must be counted under. */
function hostile(now: number): Array<[string, string]> {
  return [
    [`edge.ctl\x01name 1 ${now}`, 'name'],
    [`edge.nul\x00name 1 ${now}`, 'name'],
    [`edge.esc\x1b[2Jname 1 ${now}`, 'name'],
    [`edge.del\x7fname 1 ${now}`, 'name'],
    [`edge/slash/alias 1 ${now}`, 'name'],
    [`edge.badutf8\xff 1 ${now}`, 'name'],
    [`edge.inf 1e999 ${now}`, 'value'],
    [`edge.huge ${'9'.repeat(400)} ${now}`, 'value'],
    [`edge.negative 1 -5`, 'timestamp'],
    [`edge.infinite-ts 1 1e999`, 'timestamp'],
    [`edge.future 1 99999999999`, 'timestamp'],
  ];
}

const REASONS = ['fields', 'name', 'value', 'timestamp', 'too_long'];

function countByReason(lines: Array<[string, string]>): Record<string, number> {
  const counts = Object.fromEntries(REASONS.map((r) => [r, 0]));
  for (const [, reason] of lines) counts[reason]!++;
  return counts;
}

async function invalidByReason(statPort: number): Promise<Record<string, number>> {
  const s = await scrape(statPort);
  return Object.fromEntries(REASONS.map((reason) => [reason, s.value('polymur_points_invalid_total', { reason })]));
}

/** Writes the lines (latin1: each char one byte, so \xff stays a lone invalid UTF-8 byte) on one connection and closes it. */
async function sendLines(port: number, lines: string[]): Promise<void> {
  const socket = connect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.end(Buffer.from(lines.join('\n') + '\n', 'latin1'));
  await once(socket, 'close');
}

test('the proxy and the gateway drop and count each hostile line by reason; the lines around them and the well-behaved stream arrive', async () => {
  await underGatewayLoad('validation', [], async ({ gateway, proxy, ca, key, sink }) => {
    const bad = hostile(1_700_000_000);
    const good = Array.from({ length: 20 }, (_, i) => `edge.good.m${i} ${i} 1700000000`);
    // Good and bad interleaved on one connection to the proxy, and in one batch to the gateway.
    const mixed = good.flatMap((line, i) => [line, bad[i % bad.length]![0]]);
    await sendLines(proxy.port, mixed);
    const viaGateway = good.map((l) => l.replace('edge.good', 'edge.direct'));
    const body = Buffer.from(viaGateway.flatMap((line, i) => [line, bad[i % bad.length]![0]]).join('\n') + '\n', 'latin1');
    const r = await post(gateway.port, '/ingest', { 'x-polymur-key': key }, gzipSync(body), ca);
    assert.deepEqual([r.status, r.body], [200, 'Batch Received\n']);

    const expected = countByReason(good.map((_, i) => bad[i % bad.length]!));
    await until('every good line at the sink', () => sink.lines.filter((l) => l.startsWith('edge.')).length >= 2 * good.length, 15_000);
    assert.deepEqual(sink.lines.filter((l) => l.startsWith('edge.')).sort(), [...good, ...viaGateway].sort());
    assert.deepEqual(await invalidByReason(proxy.statPort), expected);
    assert.deepEqual(await invalidByReason(gateway.statPort), expected);
    const figures = Object.entries(expected)
      .filter(([, n]) => n > 0)
      .map(([reason, n]) => `${n} ${reason}`)
      .join(', ');
    return `proxy and gateway each dropped ${good.length} hostile lines (${figures}) and delivered the ${good.length} good ones beside them`;
  });
});

test('in front of a real carbon-cache: only the well-behaved metrics get whisper files, with every value', async () => {
  const carbon = await startCarbon();
  const relay = await startRelay(['-destinations', carbon.address, '-flush-interval', '50ms']);
  try {
    const now = Math.floor(Date.now() / 1000) - 5;
    const bad = hostile(now);
    const good = Array.from({ length: 100 }, (_, i) => `edge.good.m${i} ${i} ${now}`);
    // -1 is carbon's "now": kept, carbon stores it at its arrival time.
    good.push(`edge.good.carbon-now 7 -1`);
    await Promise.all([
      sendLines(
        relay.port,
        bad.map(([line]) => line),
      ),
      sendLines(relay.port, good),
    ]);
    const names = good.map((l) => l.split(' ')[0]!);
    for (const name of names) await carbon.waitForMetric(name, 30_000);
    const stored = await carbon.fetchMany(names);
    const values = names.map((n) => stored.get(n)?.map(([, v]) => v));
    assert.deepEqual(values, [...Array.from({ length: 100 }, (_, i) => [i]), [7]]);
    // That nothing else appears can only be watched for a while: one more second after the last
    // good file (carbon writes its cache in no fixed order, so no later point marks the end).
    await new Promise((r) => setTimeout(r, 1000).unref());
    assert.deepEqual(carbon.storedMetrics().sort(), [...names].sort());
    assert.deepEqual(await invalidByReason(relay.statPort), countByReason(bad));
    process.stdout.write(
      `# carbon: ${bad.length} hostile lines dropped (${JSON.stringify(countByReason(bad))}); ${names.length}/${names.length} good metrics stored with their values\n`,
    );
  } finally {
    await relay.stop();
    await carbon.stop();
  }
});
