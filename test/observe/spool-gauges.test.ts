// Per-destination spool gauges: a relay spooling for two destinations shows both spools in
// /metrics, each with its own figures, so the spool growing behind a down destination is seen.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openGraphiteStream } from '../helpers/graphite-stream.js';
import { until } from '../helpers/points.js';
import { scrape } from '../helpers/prometheus.js';
import { startRelay, type RelayProcess } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

test('relay with -spool-dir and two destinations, one down: polymur_spool_bytes and _segments per destination', async () => {
  const up = await startTcpSink();
  const gone = await startTcpSink();
  const down = gone.address;
  await gone.close();
  const spoolDir = mkdtempSync(join(tmpdir(), 'polymur-spool-gauges-'));
  let relay: RelayProcess | undefined;
  try {
    relay = await startRelay(['-destinations', `${up.address},${down}`, '-spool-dir', spoolDir, '-flush-interval', '50ms', '-shutdown-timeout', '1s']);
    const stream = await openGraphiteStream(relay.port);
    await stream.send(Array.from({ length: 300 }, (_, i) => `spool.gauges.m${i} ${i} 1700000000`));
    await stream.close();
    await up.waitForLines(300, 15_000);
    const port = relay.statPort;
    await until('the down destination holds 300 points', async () => (await scrape(port)).value('polymur_queue_points', { destination: down }) === 300, 15_000);
    await until('the up destination spool emptied', async () => (await scrape(port)).value('polymur_spool_bytes', { destination: up.address }) === 0, 15_000);
    const m = await scrape(port);
    const downBytes = m.value('polymur_spool_bytes', { destination: down });
    // What the down destination's spool directory holds on disk: its records, nothing else.
    const downDir = readdirSync(spoolDir).find((d) => d.endsWith(`_${down.split(':')[1]}`))!;
    const onDisk = readdirSync(join(spoolDir, downDir)).reduce((n, f) => n + statSync(join(spoolDir, downDir, f)).size, 0);
    process.stdout.write(`# spool gauges: up ${up.address} ${m.value('polymur_spool_bytes', { destination: up.address })} B, down ${down} ${downBytes} B (${onDisk} B on disk)\n`);
    assert.equal(m.samples('polymur_spool_bytes').length, 2, 'one series per destination');
    assert.equal(downBytes, onDisk);
    assert.ok(downBytes > 300 * 'spool.gauges.m0 0 1700000000\n'.length);
    assert.equal(m.samples('polymur_spool_segments').length, 2);
    assert.ok(m.value('polymur_spool_segments', { destination: down }) >= 1);
  } finally {
    await relay?.stop();
    await up.close();
    rmSync(spoolDir, { recursive: true, force: true });
  }
});
