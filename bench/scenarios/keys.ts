// The gateway with many keys: its key store (a real file store, made by polymur-keys import)
// holding 1 or 10,000 keys, and 1 or 100 of them sending. What the key check and the per-key
// accounting cost per point, and what 10,000 keys cost the gateway's start, a reload and its memory.
//
// The senders: 100 polymur-proxy processes would each take 40-60 MB and 0.4-0.7 CPU s per million
// points of the 2 cores the gateway is measured on, and the load would vary with the number of
// connections (the connections dimension) as much as with the keys. So one sender process speaks
// the proxy's wire protocol through the proxy's own transport and gzip (bench/ingest-sender.ts)
// over 4 connections, and each batch carries the next sending key: the gateway checks the key of
// every batch, not of a connection, so only the keys differ between the rows.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { runToExit, type RunningProgram } from '../../harness/programs.js';
import { startGateway } from '../../harness/system.js';
import { createStaticKeys } from '../../src/keys/cache.js';
import { hashedEntry } from '../../src/keys/entry.js';
import { DEFAULT_KEY_PREFIX } from '../../src/keys/store.js';
import type { IngestJob, IngestResult } from '../ingest-sender.js';
import { throughputOf, cpuNow, figures, interleaved, median, processFigure, settle, spread, startSink, type Repeated, type ThroughputResult } from '../measure.js';
import { burstPoints, CONNECTIONS, nodeArgs } from '../options.js';
import { defineScenario, type Row } from '../scenario.js';

const here = dirname(fileURLToPath(import.meta.url));

interface KeysResult extends ThroughputResult {
  readonly storeKeys: number;
  readonly sendingKeys: number;
  /** From spawning the gateway to its HTTPS port listening (the keys are loaded before it listens). */
  readonly startMs: number;
  /** From SIGHUP to "API keys refreshed". */
  readonly reloadMs: number;
  /** Resident memory once started, before any batch. */
  readonly startRssMb: number;
  /** Batches the gateway asked to send again (503 + Retry-After). */
  readonly retries: number;
}

/**
 * A file key store of `count` names (site-00000, ...) made as an operator moving from the original
 * would: `polymur-keys import` of a `consul kv export` (each key stored hashed); returns it and the keys.
 */
async function importStore(count: number): Promise<{ url: string; keys: string[] }> {
  const keys = Array.from({ length: count }, () => randomBytes(20).toString('hex'));
  const dir = mkdtempSync(join(tmpdir(), 'polymur-bench-keys-'));
  const exported = join(dir, 'consul-export.json');
  writeFileSync(
    exported,
    JSON.stringify(keys.map((key, i) => ({ key: `${DEFAULT_KEY_PREFIX}site-${String(i).padStart(5, '0')}`, flags: 0, value: Buffer.from(key).toString('base64') }))),
  );
  const url = `file:${join(dir, 'keys.json')}`;
  const imported = await runToExit('keys', ['-key-store', url, 'import', exported]);
  if (imported.code !== 0) throw new Error(`polymur-keys import failed: ${imported.stderr}`);
  return { url, keys };
}

async function ingest(job: IngestJob): Promise<IngestResult> {
  const child = fork(join(here, '..', 'ingest-sender.js'), [], { stdio: 'inherit', execArgv: nodeArgs('sender') });
  child.send(job);
  const [msg] = (await once(child, 'message')) as [{ type: string; message?: string } & IngestResult];
  if (msg.type !== 'done') throw new Error(`ingest sender failed: ${msg.message}`);
  return msg;
}

/** Resident memory now (VmRSS), in MB. */
function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  return Math.round((kb / 1024) * 10) / 10;
}

/** Waits for a log line matching `pattern` written after the first `from` characters of the log. */
async function logAfter(p: RunningProgram, from: number, pattern: RegExp, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(p.stderr().slice(from))) {
    if (Date.now() > deadline) throw new Error(`no log line matching ${pattern} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function keysRun(points: number, storeKeys: number, sendingKeys: number): Promise<KeysResult> {
  const store = await importStore(storeKeys);
  const sink = await startSink(points);
  const spawned = performance.now();
  const gateway = await startGateway({
    keyStore: store.url,
    args: ['-outgoing-queue-cap', '1000000', '-destinations', `127.0.0.1:${sink.port}`],
    nodeArgs: nodeArgs('gateway'),
  });
  const startMs = Math.round(performance.now() - spawned);
  try {
    const startRssMb = rssMb(gateway.proc.pid!);
    const logged = gateway.stderr().length;
    const hup = performance.now();
    gateway.proc.kill('SIGHUP');
    await logAfter(gateway, logged, /API keys refreshed/);
    const reloadMs = Math.round(performance.now() - hup);
    const cpuBefore = cpuNow({ gateway });
    const sinkCpuBefore = (await sink.report()).cpuSeconds;
    const sent = await ingest({ url: gateway.url, caPath: gateway.cert.certPath, keys: store.keys.slice(0, sendingKeys), connections: CONNECTIONS, points, batchPoints: 5000 });
    const report = await settle(sink, points);
    const processes = figures({ gateway }, cpuBefore, points);
    return {
      storeKeys,
      sendingKeys,
      startMs,
      reloadMs,
      startRssMb,
      retries: sent.retries,
      ...throughputOf(points, report, { sent: sent.sent, startMs: sent.startMs, elapsedMs: 0, cpuSeconds: sent.cpuSeconds }, processes, sinkCpuBefore),
    };
  } finally {
    await gateway.stop();
    await sink.stop();
  }
}

/** Lookups timed per case of the in-process key check. */
const LOOKUPS = 200_000;

/**
 * The key check alone, in this process: ns per lookup (what the gateway does once per batch) in a
 * cache of `storeKeys` hashed keys, presented keys cycling over `sendingKeys` of them; median of 5.
 */
function keyCheckNs(storeKeys: number, sendingKeys: number): number {
  const keys = Array.from({ length: storeKeys }, () => randomBytes(20).toString('hex'));
  const cache = createStaticKeys(new Map(keys.map((key, i) => [`site-${i}`, hashedEntry(key)])));
  const timings: number[] = [];
  for (let round = 0; round < 5; round++) {
    const started = performance.now();
    for (let i = 0; i < LOOKUPS; i++) if (cache.lookup(keys[i % sendingKeys]!) === undefined) throw new Error('a stored key was not found');
    timings.push(((performance.now() - started) * 1e6) / LOOKUPS);
  }
  return Math.round(median(timings));
}

const CASES = [
  { key: 'one', storeKeys: 1, sendingKeys: 1 },
  { key: 'oneOfMany', storeKeys: 10_000, sendingKeys: 1 },
  { key: 'hundredOfMany', storeKeys: 10_000, sendingKeys: 100 },
] as const;

type Results = Record<(typeof CASES)[number]['key'], Repeated<KeysResult>> & { readonly keyCheckNs: Record<(typeof CASES)[number]['key'], number> };

/** The harness's share: the sender in the generator's place. */
function senderFigure(r: KeysResult): string {
  const h = r.harnessCpuSecondsPerMillion;
  return `sender ${h.generator} s, sink ${h.sink} s; CPU-bound ceiling ${r.cpuBoundPointsPerSecond.toLocaleString('en')} points/s`;
}

const gatewayCpu = (all: KeysResult[]): number[] => all.map((r) => r.processes['gateway']!.cpuSecondsPerMillion);

export const keysScenario = defineScenario({
  key: 'keys',
  run: async (): Promise<Results> => ({
    ...(await interleaved(
      (c) => `keys: ${c.sendingKeys} sending of ${c.storeKeys} in the store`,
      CASES,
      (c) => keysRun(burstPoints, c.storeKeys, c.sendingKeys),
      (r) => r.pointsPerSecond,
    )),
    keyCheckNs: Object.fromEntries(CASES.map((c) => [c.key, keyCheckNs(c.storeKeys, c.sendingKeys)])) as Results['keyCheckNs'],
  }),
  rows: (results: Results): Row[] => {
    const base = median(gatewayCpu(results.one.all));
    const checks: Row = [
      'keys: the key check alone (ns per batch)',
      CASES.map((c) => `${c.sendingKeys} of ${c.storeKeys.toLocaleString('en')}: ${results.keyCheckNs[c.key]} ns`).join(', '),
    ];
    const rows = CASES.map(({ key, storeKeys, sendingKeys }): Row => {
      const { median: r, all } = results[key];
      const ratio = Math.round((median(gatewayCpu(all)) / base) * 100) / 100;
      return [
        `keys: ${sendingKeys} sending of ${storeKeys.toLocaleString('en')} in the store`,
        `${r.pointsPerSecond.toLocaleString('en')} points/s, ${r.lost} lost, ${r.duplicates} duplicated, ${r.retries} batches retried; ` +
          `gateway RSS / CPU per 1M points ${processFigure(all, 'gateway')}, ${ratio}x the CPU of 1 key; ` +
          `start ${spread(
            all.map((x) => x.startMs),
            ' ms',
          )}, reload ${spread(
            all.map((x) => x.reloadMs),
            ' ms',
          )}, RSS once started ${spread(
            all.map((x) => x.startRssMb),
            ' MB',
          )}; ${senderFigure(r)}`,
      ];
    });
    return [...rows, checks];
  },
});
