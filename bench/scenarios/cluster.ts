// The scale-out layout: one proxy through HAProxy (deploy/cluster/haproxy.cfg) to 1, 2 or 3
// gateways, against one gateway direct.
import { freePort } from '../../harness/free-port.js';
import { makeCert } from '../../harness/certs.js';
import { startHaproxy, type Haproxy } from '../../harness/haproxy.js';
import type { RunningProgram } from '../../harness/programs.js';
import { startGateway, startProxy, type GatewayProcess } from '../../harness/system.js';
import {
  throughputOf,
  cpuNow,
  figures,
  generate,
  GATEWAY_ARGS,
  perMillion,
  processFigures,
  repeated,
  settle,
  startSink,
  stopAll,
  type Repeated,
  type ThroughputResult,
} from '../measure.js';
import { burstPoints, nodeArgs } from '../options.js';
import { defineScenario, type Row } from '../scenario.js';

/**
 * The scale-out layout's load balancer: the same load (one proxy, 6 workers: connections to spread)
 * through HAProxy's TLS passthrough frontend (deploy/cluster/haproxy.cfg) to `gateways` gateways,
 * or straight to one gateway (`gateways` 0), to weigh what HAProxy costs per point.
 */
async function cluster(points: number, gateways: number): Promise<ThroughputResult> {
  const cert = makeCert();
  const sink = await startSink(points);
  const started: GatewayProcess[] = [];
  let lb: Haproxy | undefined;
  let proxy: Awaited<ReturnType<typeof startProxy>> | undefined;
  try {
    for (let i = 0; i < Math.max(gateways, 1); i++) {
      started.push(await startGateway({ cert, args: [...GATEWAY_ARGS, '-destinations', `127.0.0.1:${sink.port}`], nodeArgs: nodeArgs(`gateway${i + 1}`) }));
    }
    if (gateways > 0) {
      // haproxy.cfg names three servers: the ones not running point at a closed port and are DOWN.
      const closed = await freePort();
      const backends = [0, 1, 2].map((i) => {
        const g = started[i];
        return g ? { host: '127.0.0.1', httpsPort: g.port, httpPort: closed, statPort: g.statPort } : { host: '127.0.0.1', httpsPort: closed, httpPort: closed, statPort: closed };
      });
      lb = await startHaproxy(backends, cert);
      const balancer = lb;
      const deadline = Date.now() + 30_000;
      while ((await balancer.stats()).filter((s) => s.backend === 'gateways_tls' && s.status === 'UP').length < gateways) {
        if (Date.now() > deadline) throw new Error('HAProxy did not see the gateways ready');
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    const target = lb ? `https://localhost:${lb.passthroughPort}` : started[0]!.url;
    proxy = await startProxy({ gateway: target, cert, apiKey: '123', args: ['-verbose=false', '-workers', '6'], nodeArgs: nodeArgs('proxy') });
    await proxy.waitForLog(/successful/);
    const programs: Record<string, RunningProgram> = { proxy, ...Object.fromEntries(started.map((g, i) => [`gateway${i + 1}`, g])) };
    const cpuBefore = cpuNow(programs);
    const lbCpuBefore = lb ? processFigures(lb.pid).cpuSeconds : 0;
    const sinkCpuBefore = (await sink.report()).cpuSeconds;
    const gen = await generate(proxy.port, points);
    const report = await settle(sink, points);
    const processes = figures(programs, cpuBefore, points);
    if (lb) {
      const f = processFigures(lb.pid);
      const cpuSeconds = Math.round((f.cpuSeconds - lbCpuBefore) * 100) / 100;
      processes['haproxy'] = { ...f, cpuSeconds, cpuSecondsPerMillion: perMillion(cpuSeconds, points) };
    }
    return throughputOf(points, report, gen, processes, sinkCpuBefore);
  } finally {
    await proxy?.stop();
    await lb?.stop();
    await stopAll(started);
    await sink.stop();
  }
}

/** CPU seconds per 1M points of all gateways together. */
function gatewaysCpu(r: ThroughputResult): number {
  return (
    Math.round(
      Object.entries(r.processes)
        .filter(([name]) => name.startsWith('gateway'))
        .reduce((n, [, p]) => n + p.cpuSecondsPerMillion, 0) * 100,
    ) / 100
  );
}

/** The cluster scenario with `gateways` behind HAProxy (0: one gateway, direct), run `runs` times. */
function clusterScenario(name: string, gateways: number): Promise<Repeated<ThroughputResult>> {
  return repeated(
    `cluster: ${name}`,
    () => cluster(burstPoints, gateways),
    (r) => r.pointsPerSecond,
  );
}

function clusterFigure(r: ThroughputResult): string {
  const lbCpu = r.processes['haproxy']?.cpuSecondsPerMillion;
  const rss = Object.entries(r.processes)
    .filter(([name]) => name.startsWith('gateway'))
    .map(([, p]) => p.peakRssMb);
  return (
    `${r.pointsPerSecond.toLocaleString('en')} points/s, ${r.lost} lost, ${r.duplicates} duplicated; CPU per 1M points: gateways ${gatewaysCpu(r)} s, ` +
    `${lbCpu !== undefined ? `HAProxy ${lbCpu} s, ` : ''}proxy ${r.processes['proxy']!.cpuSecondsPerMillion} s; gateway peak RSS ${rss.join(', ')} MB`
  );
}

/** What the load balancer adds per million points: its own CPU, and the gateway's and proxy's difference. */
function haproxyCost(direct: ThroughputResult, through: ThroughputResult): string {
  const total = (r: ThroughputResult): number => Math.round(Object.values(r.processes).reduce((n, p) => n + p.cpuSecondsPerMillion, 0) * 100) / 100;
  return `direct ${total(direct)} s (proxy + gateway), through HAProxy ${total(through)} s (proxy + HAProxy + gateway): HAProxy itself ${through.processes['haproxy']?.cpuSecondsPerMillion ?? 0} s`;
}

export const clusterScenarios = defineScenario({
  key: 'cluster',
  run: async () => ({
    direct: await clusterScenario('1 gateway, direct', 0),
    haproxy1: await clusterScenario('HAProxy, 1 gateway', 1),
    haproxy2: await clusterScenario('HAProxy, 2 gateways', 2),
    haproxy3: await clusterScenario('HAProxy, 3 gateways', 3),
  }),
  rows: (c: Record<'direct' | 'haproxy1' | 'haproxy2' | 'haproxy3', Repeated<ThroughputResult>>): Row[] => [
    ['cluster: 1 gateway, direct', clusterFigure(c.direct.median)],
    ['cluster: HAProxy -> 1 gateway', clusterFigure(c.haproxy1.median)],
    ['cluster: HAProxy -> 2 gateways', clusterFigure(c.haproxy2.median)],
    ['cluster: HAProxy -> 3 gateways', clusterFigure(c.haproxy3.median)],
    ['cluster: CPU per 1M, HAProxy vs direct', haproxyCost(c.direct.median, c.haproxy1.median)],
  ],
});
