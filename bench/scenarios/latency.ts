// Latency: a fixed 100,000 points/s through proxy -> gateway -> sink, each point's arrival against
// the moment its chunk was handed to the socket.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGateway, startProxy } from '../../harness/system.js';
import { generate, GATEWAY_ARGS, repeated, settle, startSink, stopAll, type Repeated } from '../measure.js';
import { nodeArgs, quick } from '../options.js';
import { defineScenario, type Row } from '../scenario.js';

const LATENCY_RATE = 100_000;
const latencySeconds = quick ? 1 : 5;

interface LatencyResult {
  ratePerSecond: number;
  points: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function latency(): Promise<LatencyResult> {
  const points = LATENCY_RATE * latencySeconds;
  const dir = mkdtempSync(join(tmpdir(), 'polymur-bench-'));
  const sink = await startSink(points);
  const gateway = await startGateway({ args: [...GATEWAY_ARGS, '-destinations', `127.0.0.1:${sink.port}`], nodeArgs: nodeArgs('gateway') });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: '123', args: ['-verbose=false'], nodeArgs: nodeArgs('proxy') });
  try {
    await proxy.waitForLog(/successful/);
    await generate(proxy.port, points, LATENCY_RATE, join(dir, 'sent.bin'));
    const report = await settle(sink, points);
    await sink.dump(join(dir, 'arrived.bin'));
    const sent = new Float64Array(readFileSync(join(dir, 'sent.bin')).buffer.slice(0));
    const arrived = new Float64Array(readFileSync(join(dir, 'arrived.bin')).buffer.slice(0));
    const delays: number[] = [];
    for (let i = 0; i < Math.min(sent.length, arrived.length); i++) if (arrived[i]! > 0) delays.push(arrived[i]! - sent[i]!);
    delays.sort((a, b) => a - b);
    const at = (q: number): number => Math.round(delays[Math.min(delays.length - 1, Math.floor(q * delays.length))]! * 10) / 10;
    return { ratePerSecond: LATENCY_RATE, points, lost: points - report.distinct, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
  } finally {
    await stopAll([proxy, gateway]);
    await sink.stop();
  }
}

export const latencyScenario = defineScenario({
  key: 'latency',
  run: () => repeated('latency at 100k/s', latency, (r) => r.p99Ms),
  rows: ({ median: l }: Repeated<LatencyResult>): Row[] => [
    [`latency at ${l.ratePerSecond.toLocaleString('en')} points/s`, `p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms, ${l.lost} lost`],
  ],
});
