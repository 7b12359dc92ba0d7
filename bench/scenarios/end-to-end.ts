// End to end: the generator's connections into polymur-proxy, HTTPS + gzip to polymur-gateway, TCP
// to the counting sink, full speed.
import { startGateway, startProxy } from '../../harness/system.js';
import {
  throughputOf,
  cpuNow,
  figures,
  generate,
  GATEWAY_ARGS,
  harnessFigure,
  processFigure,
  repeated,
  scrape,
  settle,
  startSink,
  stopAll,
  type Repeated,
  type ThroughputResult,
} from '../measure.js';
import { burstPoints, nodeArgs } from '../options.js';
import { defineScenario, type Row } from '../scenario.js';

/**
 * The proxy's -batch-size here, as a site sending a million points a second would set it: 12,000
 * points (about 770 KB raw with the load's names) make 83 requests per million points instead of
 * the default 5,000's 200, and still inflate in the gateway's one pass (at most 1 MiB, body.ts)
 * rather than on zlib's thread pool. Measured against the default, same minutes: proxy and
 * gateway each about 17 % less CPU per point (bench/README.md).
 */
const BATCH_SIZE = 12_000;

async function endToEnd(points: number): Promise<ThroughputResult> {
  const sink = await startSink(points);
  const gateway = await startGateway({ args: [...GATEWAY_ARGS, '-destinations', `127.0.0.1:${sink.port}`], nodeArgs: nodeArgs('gateway') });
  const proxy = await startProxy({
    gateway: gateway.url,
    cert: gateway.cert,
    apiKey: '123',
    args: ['-verbose=false', '-batch-size', String(BATCH_SIZE)],
    nodeArgs: nodeArgs('proxy'),
  });
  try {
    await proxy.waitForLog(/successful/);
    const cpuBefore = cpuNow({ proxy, gateway });
    const sinkCpuBefore = (await sink.report()).cpuSeconds;
    const gen = await generate(proxy.port, points);
    const report = await settle(sink, points);
    const gzipBytes = await scrape(proxy.statPort, /^polymur_bytes_written_total\{encoding="gzip"\}/);
    const rawBytes = await scrape(proxy.statPort, /^polymur_bytes_written_total\{encoding="raw"\}/);
    const processes = figures({ proxy, gateway }, cpuBefore, points);
    return {
      ...throughputOf(points, report, gen, processes, sinkCpuBefore),
      wireBytesPerPoint: Math.round((gzipBytes / points) * 100) / 100,
      compressionRatio: Math.round((rawBytes / Math.max(gzipBytes, 1)) * 100) / 100,
    };
  } finally {
    await stopAll([proxy, gateway]);
    await sink.stop();
  }
}

export const endToEndScenario = defineScenario({
  key: 'endToEnd',
  run: () =>
    repeated(
      'end to end',
      () => endToEnd(burstPoints),
      (r) => r.pointsPerSecond,
    ),
  rows: ({ median: e, all }: Repeated<ThroughputResult>): Row[] => [
    [
      `end to end (proxy -batch-size ${BATCH_SIZE} -> gateway -> sink)`,
      `${e.pointsPerSecond.toLocaleString('en')} points/s (runs ${all.map((r) => r.pointsPerSecond.toLocaleString('en')).join(', ')}), ${e.points.toLocaleString('en')} sent, ${e.lost} lost, ${e.duplicates} duplicated`,
    ],
    ['wire bytes per point (gzip)', `${e.wireBytesPerPoint} (compression ${e.compressionRatio}x)`],
    ['proxy peak RSS / CPU per 1M points', processFigure(all, 'proxy')],
    ['gateway peak RSS / CPU per 1M points', processFigure(all, 'gateway')],
    ['harness CPU per 1M points', harnessFigure(e)],
  ],
});
