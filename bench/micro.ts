// Micro benchmarks of the hot paths, in-process: framing and validation, batch compression,
// gateway decompression + validation, routing (broadcast copy and hash-route placement).
import { gunzipSync, gzipSync, constants } from 'node:zlib';
import { filterLines } from '../src/input/lines.js';
import { createHashRing } from '../src/route/hash-ring.js';
import { parseDestinations } from '../src/route/destination.js';
import { buildChunk, encodeNames, metricNames } from './load-generator.js';

export interface MicroResult {
  readonly name: string;
  readonly figure: string;
  readonly value: number;
  readonly unit: string;
}

/** Runs fn until at least `minMs` passed; returns operations per second. */
function measure(fn: () => number, minMs: number): number {
  let units = 0;
  const start = process.hrtime.bigint();
  let elapsed = 0;
  while (elapsed < minMs) {
    units += fn();
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

  const framing = measure(() => filterLines(batch, 0, batch.length).points, minMs);
  results.push({ name: 'framing + validation', figure: `${fmt(framing)} lines/s`, value: framing, unit: 'lines/s' });

  const level1 = gzipSync(batch, { level: 1 });
  const gzipMBs =
    measure(() => {
      gzipSync(batch, { level: 1 });
      return batch.length;
    }, minMs) / 1e6;
  results.push({
    name: 'gzip level 1 (5000-line batch)',
    figure: `${gzipMBs.toFixed(0)} MB/s, ${(batch.length / level1.length).toFixed(1)}x smaller`,
    value: gzipMBs,
    unit: 'MB/s',
  });
  const level6 = gzipSync(batch, { level: constants.Z_DEFAULT_COMPRESSION });
  results.push({
    name: 'gzip default level, size only',
    figure: `${(batch.length / level6.length).toFixed(1)}x smaller`,
    value: batch.length / level6.length,
    unit: 'ratio',
  });

  const gunzipValidate = measure(() => {
    const raw = gunzipSync(level1);
    return filterLines(raw, 0, raw.length).points;
  }, minMs);
  results.push({ name: 'gateway gunzip + validation', figure: `${fmt(gunzipValidate)} lines/s`, value: gunzipValidate, unit: 'lines/s' });

  const prefixed = measure(() => filterLines(batch, 0, batch.length, Buffer.from('site1.')).points, minMs);
  results.push({ name: 'validation with -key-prefix', figure: `${fmt(prefixed)} lines/s`, value: prefixed, unit: 'lines/s' });

  const ring = createHashRing(parseDestinations('127.0.0.1:2103:a,127.0.0.1:2203:b,127.0.0.1:2303:c'), 'carbon_ch');
  let i = 0;
  const placement = measure(() => {
    for (let k = 0; k < 1000; k++) ring.getNodes(names[i++ % names.length]!, 1);
    return 1000;
  }, minMs);
  results.push({ name: 'hash-route placement (carbon_ch)', figure: `${fmt(placement)} names/s`, value: placement, unit: 'names/s' });
  return results;
}
