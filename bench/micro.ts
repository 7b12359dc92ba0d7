// Micro benchmarks of the hot paths, in-process: framing and validation, batch compression,
// gateway decompression + validation, hash-route splitting, and the routing core with its TCP
// writers (broadcast and hash-route) into counting sockets on 127.0.0.1, and the spool under each
// -spool-fsync mode.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { gzipSync, constants } from 'node:zlib';
import { isalGunzipInto, isalGzip, zlibGzip, type Gzip } from '../src/forward/gzip.js';
import { inflateInOnePass } from '../src/gateway/body.js';
import { filterLines } from '../src/protocol/lines.js';
import { Registry } from '../src/observe/metrics.js';
import { createHashRing } from '../src/route/hash-ring.js';
import { parseDestinations } from '../src/route/destination.js';
import { createRouter } from '../src/route/router.js';
import { splitByDestination } from '../src/route/split.js';
import { openSpoolQueue, type SpoolFsync } from '../src/spool/spool-queue.js';
import { createNameQuota } from '../src/tenants/name-quota.js';
import { createNameSketch } from '../src/tenants/name-sketch.js';
import { createNamespace } from '../src/tenants/namespace.js';
import { screenLines } from '../src/tenants/screen.js';
import { buildChunk, encodeNames, metricNames } from '../harness/load-generator.js';
import { quick } from './options.js';
import { defineScenario, type Row } from './scenario.js';

export interface MicroResult {
  readonly name: string;
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
}

/** Runs fn, one call at a time, until at least `minMs` passed; returns units per second. */
async function measure(fn: () => number | Promise<number>, minMs: number): Promise<number> {
  let units = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    units += await fn();
    elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  }
  return units / (elapsed / 1000);
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en');
}

export async function runMicroBenchmarks(quick: boolean): Promise<MicroResult[]> {
  const minMs = quick ? 100 : 1000;
  const names = metricNames(10_000, 7);
  const lineCount = 5000;
  const batch = buildChunk(encodeNames(names), 0, 0, lineCount, 1_700_000_000);
  const results: MicroResult[] = [];

  const framing = await measure(() => filterLines(batch, 0, batch.length).points, minMs);
  results.push({ name: 'framing + validation', figure: `${fmt(framing)} lines/s`, value: framing, unit: 'lines/s' });

  // The proxy's gzip (forward/gzip.ts): ISA-L's igzip where its addon is built, and node:zlib.
  const engines: Array<[string, Gzip | undefined]> = [
    ['ISA-L igzip', isalGzip],
    ['node:zlib', zlibGzip],
  ];
  for (const [engine, gzip] of engines) {
    if (!gzip) continue;
    const ratio = batch.length / (await gzip(batch)).length;
    const mbPerSecond = (await measure(async () => (await gzip(batch), batch.length), minMs)) / 1e6;
    results.push({
      name: `gzip level 1, ${engine} (5000-line batch)`,
      figure: `${mbPerSecond.toFixed(0)} MB/s, ${ratio.toFixed(1)}x smaller`,
      value: mbPerSecond,
      unit: 'MB/s',
    });
  }
  const gzipped = gzipSync(batch, { level: 1 });
  const level6 = gzipSync(batch, { level: constants.Z_DEFAULT_COMPRESSION });
  results.push({
    name: 'gzip default level, size only',
    figure: `${(batch.length / level6.length).toFixed(1)}x smaller`,
    value: batch.length / level6.length,
    unit: 'ratio',
  });

  // The gateway's one-pass inflate (gateway/body.ts): ISA-L where its addon is built, and node:zlib.
  const hint = gzipped.readUInt32LE(gzipped.length - 4);
  const inflaters = [
    ['ISA-L', isalGunzipInto],
    ['node:zlib', 'zlib'],
  ] as const;
  for (const [engine, inflater] of inflaters) {
    if (!inflater) continue;
    const mbPerSecond = (await measure(() => inflateInOnePass(gzipped, 1024 * 1024, hint, inflater).length, minMs)) / 1e6;
    results.push({ name: `gateway inflate, ${engine} (5000-line batch)`, figure: `${mbPerSecond.toFixed(0)} MB/s`, value: mbPerSecond, unit: 'MB/s' });
  }
  const gunzipValidate = await measure(() => {
    const raw = inflateInOnePass(gzipped, 1024 * 1024, hint);
    return filterLines(raw, 0, raw.length).points;
  }, minMs);
  results.push({ name: 'gateway gunzip + validation', figure: `${fmt(gunzipValidate)} lines/s`, value: gunzipValidate, unit: 'lines/s' });

  // The tenants' pass over the validated batch (src/tenants/screen.ts): a key without rules pays
  // the names sketch (one hash per name); one with a names ceiling and allowed prefixes, both.
  const sketch = createNameSketch();
  sketch.roll(Date.now());
  const gunzipValidateScreen = await measure(async () => {
    const raw = inflateInOnePass(gzipped, 1024 * 1024, hint);
    const valid = filterLines(raw, 0, raw.length);
    return (await screenLines(valid.data, 0, { sketch, onDrop: () => undefined })).points;
  }, minMs);
  results.push({ name: 'gateway gunzip + validation + tenant names sketch', figure: `${fmt(gunzipValidateScreen)} lines/s`, value: gunzipValidateScreen, unit: 'lines/s' });
  const quota = createNameQuota(1_000_000);
  quota.roll(Date.now());
  const namespace = createNamespace(['servers.', 'collectd.', 'apps.']);
  const withRules = await measure(async () => {
    const raw = inflateInOnePass(gzipped, 1024 * 1024, hint);
    const valid = filterLines(raw, 0, raw.length);
    return (await screenLines(valid.data, 0, { sketch, quota, namespace, onDrop: () => undefined })).points;
  }, minMs);
  results.push({ name: 'gateway gunzip + validation + tenant sketch, -max-names, allow', figure: `${fmt(withRules)} lines/s`, value: withRules, unit: 'lines/s' });

  const prefixed = await measure(() => filterLines(batch, 0, batch.length, Buffer.from('site1.')).points, minMs);
  results.push({ name: 'validation with -key-prefix', figure: `${fmt(prefixed)} lines/s`, value: prefixed, unit: 'lines/s' });

  const ring = createHashRing(parseDestinations('127.0.0.1:2103:a,127.0.0.1:2203:b,127.0.0.1:2303:c'), 'carbon_ch');
  const split = await measure(() => {
    splitByDestination(batch, ring, 1);
    return lineCount;
  }, minMs);
  results.push({ name: 'hash-route split (carbon_ch, 3 nodes)', figure: `${fmt(split)} lines/s`, value: split, unit: 'lines/s' });

  for (const [distribution, sinks] of [
    ['broadcast', 1],
    ['hash-route', 3],
  ] as const) {
    const rate = await routeToSockets(batch, lineCount, distribution, sinks, minMs);
    results.push({ name: `router + TCP writers, ${distribution} to ${sinks} socket(s)`, figure: `${fmt(rate)} lines/s`, value: rate, unit: 'lines/s' });
  }

  // A proxy's spool record is one read of its clients (a few hundred lines): 500 lines each.
  const spoolLines = 500;
  const spoolBatch = buildChunk(encodeNames(names), 0, 0, spoolLines, 1_700_000_000);
  // A first pass warms the disk and the page cache, so the first mode measured is not the slowest.
  await throughSpool(spoolBatch, spoolLines, 'never', minMs);
  for (const fsync of ['never', 'interval', 'always'] as const) {
    const rate = await throughSpool(spoolBatch, spoolLines, fsync, minMs);
    results.push({ name: `spool append + take + ack, -spool-fsync ${fsync} (500-line records)`, figure: `${fmt(rate)} lines/s`, value: rate, unit: 'lines/s' });
  }
  return results;
}

/**
 * The spool as the proxy runs it, on the disk under the temporary directory: batches offered
 * (waiting when it refuses), taken and acknowledged by one consumer as soon as they come out.
 * Lines per second, first offer to last acknowledgement, for at least minMs of batches.
 */
async function throughSpool(batch: Buffer, lines: number, fsync: SpoolFsync, minMs: number): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-bench-spool-'));
  const queue = openSpoolQueue({ dir, maxBytes: 1 << 30, policy: 'block', fsync, log: () => {} });
  let acked = 0;
  const consuming = (async () => {
    for (let lease = await queue.take(); lease; lease = await queue.take()) {
      lease.ack();
      acked++;
    }
  })();
  try {
    const start = process.hrtime.bigint();
    let offered = 0;
    while (Number(process.hrtime.bigint() - start) / 1e6 < minMs) {
      while (!queue.offer({ data: batch, points: lines })) await new Promise<void>((r) => queue.whenReady(r));
      offered++;
      if (offered % 8 === 0) await new Promise((r) => setImmediate(r));
    }
    await queue.close();
    await consuming;
    if (acked !== offered) throw new Error(`spool micro benchmark: ${acked} of ${offered} batches came out`);
    return (offered * lines) / (Number(process.hrtime.bigint() - start) / 1e9);
  } finally {
    queue.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A TCP server on 127.0.0.1 that counts the bytes it receives. */
async function countingServer(): Promise<{ server: Server; port: number; bytes: () => number }> {
  let bytes = 0;
  const server = createServer((socket) => socket.on('data', (chunk: Buffer) => (bytes += chunk.length)));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { server, port: (server.address() as AddressInfo).port, bytes: () => bytes };
}

/**
 * The routing core as the gateway and the relay run it: batches offered to the router (waiting
 * when it refuses), written by its TCP writers to counting sockets. Lines per second, offer to
 * the last byte received, for at least minMs of batches.
 */
async function routeToSockets(batch: Buffer, lines: number, distribution: 'broadcast' | 'hash-route', sinks: number, minMs: number): Promise<number> {
  const servers = await Promise.all(Array.from({ length: sinks }, countingServer));
  const router = createRouter({
    destinations: parseDestinations(servers.map((s, i) => `127.0.0.1:${s.port}:${String.fromCharCode(97 + i)}`).join(',')),
    distribution,
    queueCapPoints: 100_000,
    metrics: new Registry(),
    log: () => {},
  });
  try {
    const received = (): number => servers.reduce((n, s) => n + s.bytes(), 0);
    const start = process.hrtime.bigint();
    let offered = 0;
    while (Number(process.hrtime.bigint() - start) / 1e6 < minMs) {
      while (!router.offer({ data: batch, points: lines })) await new Promise<void>((r) => router.whenReady(r));
      offered++;
      // Let the writers run now and then, as the event loop of a real program would.
      if (offered % 8 === 0) await new Promise((r) => setImmediate(r));
    }
    const expected = offered * batch.length * (distribution === 'broadcast' ? sinks : 1);
    const deadline = Date.now() + 30_000;
    while (received() < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 1));
    if (received() < expected) throw new Error(`routing micro benchmark: ${received()} of ${expected} bytes arrived`);
    return (offered * lines) / (Number(process.hrtime.bigint() - start) / 1e9);
  } finally {
    await router.close();
    for (const s of servers) s.server.close();
  }
}

export const microScenario = defineScenario({
  key: 'micro',
  run: () => runMicroBenchmarks(quick),
  rows: (micro: MicroResult[]): Row[] => micro.map((m): Row => [`micro: ${m.name}`, m.figure]),
});
