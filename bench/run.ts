// `npm run bench`: the real programs as separate processes on 127.0.0.1, fed by the load generator,
// measured at a counting sink. Prints a table and writes JSON (bench/results/).
//   node dist/bench/run.js [--quick] [--runs N] [--points N] [--only a,b] [--cpu-prof DIR]
// --only runs some scenarios (endToEnd, latency, relayBroadcast, relayHashRoute, relayHashRouteRules, cluster, micro);
// --cpu-prof writes a V8 CPU profile of each process (proxy, gateway, relay, generator, sink) to DIR.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGateway, startProxy, startRelay, type GatewayProcess } from '../harness/system.js';
import { freePort } from '../harness/free-port.js';
import { makeCert } from '../harness/certs.js';
import { startHaproxy, type Haproxy } from '../harness/haproxy.js';
import type { RunningProgram } from '../harness/programs.js';
import { runMicroBenchmarks } from './micro.js';
import { writeBenchRules } from './rules.js';
import { formatTop } from './profile-top.js';
import { startSink as startCountingSink, type Sink, type SinkReport } from '../harness/sink-process.js';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const quick = args.includes('--quick');
const runs = Number(flag('--runs') ?? (quick ? 1 : 3));
const burstPoints = Number(flag('--points') ?? (quick ? 100_000 : 5_000_000));
const latencyRate = 100_000;
const latencySeconds = quick ? 1 : 5;
const CONNECTIONS = 4;
const only = flag('--only')?.split(',');
const wanted = (scenario: string): boolean => only === undefined || only.includes(scenario);
const cpuProfDir = flag('--cpu-prof');
/** Node's own arguments for a process: with --cpu-prof, its profile goes to DIR/<process> at exit. */
const nodeArgs = (program: string): string[] => (cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${join(cpuProfDir, program)}`] : []);

/** A sink for `points` spread over the bench's connections. */
const startSink = (points: number): Promise<Sink> => startCountingSink(CONNECTIONS, Math.ceil(points / CONNECTIONS), nodeArgs('sink'));

interface Generated {
  sent: number;
  elapsedMs: number;
  startMs: number;
  cpuSeconds: number;
}

async function generate(port: number, points: number, ratePerSecond?: number, chunkTimesFile?: string): Promise<Generated> {
  const child: ChildProcess = fork(join(here, 'generator.js'), [], { stdio: 'inherit', execArgv: nodeArgs('generator') });
  child.send({ port, connections: CONNECTIONS, points, seed: 42, ...(ratePerSecond ? { ratePerSecond } : {}), ...(chunkTimesFile ? { chunkTimesFile } : {}) });
  const [msg] = (await once(child, 'message')) as [{ type: string; message?: string } & Generated];
  if (msg.type !== 'done') throw new Error(`load generator failed: ${msg.message}`);
  return msg;
}

/** Waits until the sink has every point, or until nothing arrived for `quietMs`. */
async function settle(sink: Sink, points: number, quietMs = 5000): Promise<SinkReport> {
  let last = await sink.report();
  let lastChange = Date.now();
  while (last.distinct < points && Date.now() - lastChange < quietMs) {
    await new Promise((r) => setTimeout(r, 50));
    const now = await sink.report();
    if (now.lines !== last.lines) lastChange = Date.now();
    last = now;
  }
  return last;
}

interface ProcessFigures {
  peakRssMb: number;
  cpuSeconds: number;
}

function processFigures(pid: number): ProcessFigures {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { peakRssMb: Math.round((hwm / 1024) * 10) / 10, cpuSeconds: ticks / 100 };
}

async function scrape(statPort: number, metric: RegExp): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${statPort}/metrics`);
  const text = await res.text();
  let total = 0;
  for (const line of text.split('\n')) {
    const m = metric.exec(line);
    if (m) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

interface ThroughputResult {
  points: number;
  arrived: number;
  lost: number;
  duplicates: number;
  pointsPerSecond: number;
  processes: Record<string, ProcessFigures & { cpuSecondsPerMillion: number }>;
  wireBytesPerPoint?: number;
  compressionRatio?: number;
  /** CPU seconds per million points of the load generator and the sink, which share the cores. */
  harnessCpuSecondsPerMillion: { generator: number; sink: number };
  /**
   * Points per second the machine's cores could carry if every process were busy all the time:
   * cores / (CPU seconds per point of all processes, harness included). The measured rate's ceiling.
   */
  cpuBoundPointsPerSecond: number;
}

const perMillion = (seconds: number, points: number): number => Math.round((seconds / (points / 1e6)) * 100) / 100;

/** Harness CPU and the CPU-bound ceiling of a throughput run. */
/** CPU seconds of each program now, to leave start-up out of the figures. */
function cpuNow(programs: Record<string, RunningProgram>): Record<string, number> {
  return Object.fromEntries(Object.entries(programs).map(([name, p]) => [name, processFigures(p.proc.pid!).cpuSeconds]));
}

/** Harness CPU and the CPU-bound ceiling of a throughput run; sinkCpuBefore: the sinks' CPU before the load. */
function cpuBudget(
  processes: ThroughputResult['processes'],
  gen: Generated,
  sinks: SinkReport[],
  sinkCpuBefore: number,
  points: number,
): Pick<ThroughputResult, 'harnessCpuSecondsPerMillion' | 'cpuBoundPointsPerSecond'> {
  const sinkSeconds = sinks.reduce((n, r) => n + r.cpuSeconds, 0) - sinkCpuBefore;
  const total = Object.values(processes).reduce((n, p) => n + p.cpuSeconds, 0) + gen.cpuSeconds + sinkSeconds;
  return {
    harnessCpuSecondsPerMillion: { generator: perMillion(gen.cpuSeconds, points), sink: perMillion(sinkSeconds, points) },
    cpuBoundPointsPerSecond: Math.round((cpus().length * points) / total),
  };
}

/** Peak RSS, and the CPU spent since `cpuBefore` (cpuNow taken before the load). */
function figures(programs: Record<string, RunningProgram>, cpuBefore: Record<string, number>, points: number): ThroughputResult['processes'] {
  const out: ThroughputResult['processes'] = {};
  for (const [name, p] of Object.entries(programs)) {
    const now = processFigures(p.proc.pid!);
    const f = { ...now, cpuSeconds: Math.round((now.cpuSeconds - cpuBefore[name]!) * 100) / 100 };
    out[name] = { ...f, cpuSecondsPerMillion: perMillion(f.cpuSeconds, points) };
  }
  return out;
}

async function stopAll(programs: RunningProgram[]): Promise<void> {
  for (const p of programs) await p.stop();
}

const GATEWAY_ARGS = ['-dev-mode', '-outgoing-queue-cap', '1000000'];

async function endToEnd(points: number): Promise<ThroughputResult> {
  const sink = await startSink(points);
  const gateway = await startGateway({ args: [...GATEWAY_ARGS, '-destinations', `127.0.0.1:${sink.port}`], nodeArgs: nodeArgs('gateway') });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: '123', args: ['-verbose=false'], nodeArgs: nodeArgs('proxy') });
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
      points,
      arrived: report.lines,
      lost: points - report.distinct,
      duplicates: report.duplicates,
      pointsPerSecond: Math.round(report.distinct / ((report.lastArrivalMs - gen.startMs) / 1000)),
      processes,
      ...cpuBudget(processes, gen, [report], sinkCpuBefore, points),
      wireBytesPerPoint: Math.round((gzipBytes / points) * 100) / 100,
      compressionRatio: Math.round((rawBytes / Math.max(gzipBytes, 1)) * 100) / 100,
    };
  } finally {
    await stopAll([proxy, gateway]);
    await sink.stop();
  }
}

interface LatencyResult {
  ratePerSecond: number;
  points: number;
  lost: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}

async function latency(): Promise<LatencyResult> {
  const points = latencyRate * latencySeconds;
  const dir = mkdtempSync(join(tmpdir(), 'polymur-bench-'));
  const sink = await startSink(points);
  const gateway = await startGateway({ args: [...GATEWAY_ARGS, '-destinations', `127.0.0.1:${sink.port}`], nodeArgs: nodeArgs('gateway') });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: '123', args: ['-verbose=false'], nodeArgs: nodeArgs('proxy') });
  try {
    await proxy.waitForLog(/successful/);
    await generate(proxy.port, points, latencyRate, join(dir, 'sent.bin'));
    const report = await settle(sink, points);
    await sink.dump(join(dir, 'arrived.bin'));
    const sent = new Float64Array(readFileSync(join(dir, 'sent.bin')).buffer.slice(0));
    const arrived = new Float64Array(readFileSync(join(dir, 'arrived.bin')).buffer.slice(0));
    const delays: number[] = [];
    for (let i = 0; i < Math.min(sent.length, arrived.length); i++) if (arrived[i]! > 0) delays.push(arrived[i]! - sent[i]!);
    delays.sort((a, b) => a - b);
    const at = (q: number): number => Math.round(delays[Math.min(delays.length - 1, Math.floor(q * delays.length))]! * 10) / 10;
    return { ratePerSecond: latencyRate, points, lost: points - report.distinct, p50Ms: at(0.5), p99Ms: at(0.99), maxMs: at(1) };
  } finally {
    await stopAll([proxy, gateway]);
    await sink.stop();
  }
}

/** `ruleArgs`: the relay's rule-file flags (the scenario with rules), none for the one without. */
async function relay(points: number, distribution: 'broadcast' | 'hash-route', ruleArgs: string[] = []): Promise<ThroughputResult> {
  const sinks = await Promise.all(Array.from({ length: distribution === 'broadcast' ? 1 : 3 }, () => startSink(points)));
  const relayProcess = await startRelay(
    [
      '-destinations',
      sinks.map((s, i) => `127.0.0.1:${s.port}${distribution === 'hash-route' ? `:${String.fromCharCode(97 + i)}` : ''}`).join(','),
      '-distribution',
      distribution,
      '-outgoing-queue-cap',
      '1000000',
      ...ruleArgs,
    ],
    {},
    nodeArgs('relay'),
  );
  try {
    const cpuBefore = cpuNow({ relay: relayProcess });
    const sinkCpuBefore = (await Promise.all(sinks.map((s) => s.report()))).reduce((n, r) => n + r.cpuSeconds, 0);
    const gen = await generate(relayProcess.port, points);
    const reports = await Promise.all(sinks.map((s) => settle(s, distribution === 'broadcast' ? points : 0)));
    // With hash-route each sink gets a share; settle until the shares add up.
    let merged = reports;
    const deadline = Date.now() + 60_000;
    while (distribution === 'hash-route' && merged.reduce((n, r) => n + r.distinct, 0) < points && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      merged = await Promise.all(sinks.map((s) => s.report()));
    }
    const distinct = merged.reduce((n, r) => n + r.distinct, 0);
    const lastArrival = Math.max(...merged.map((r) => r.lastArrivalMs));
    const processes = figures({ relay: relayProcess }, cpuBefore, points);
    return {
      points,
      arrived: merged.reduce((n, r) => n + r.lines, 0),
      lost: points - distinct,
      duplicates: merged.reduce((n, r) => n + r.duplicates, 0),
      pointsPerSecond: Math.round(distinct / ((lastArrival - gen.startMs) / 1000)),
      processes,
      ...cpuBudget(processes, gen, merged, sinkCpuBefore, points),
    };
  } finally {
    await relayProcess.stop();
    for (const s of sinks) await s.stop();
  }
}

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
    return {
      points,
      arrived: report.lines,
      lost: points - report.distinct,
      duplicates: report.duplicates,
      pointsPerSecond: Math.round(report.distinct / ((report.lastArrivalMs - gen.startMs) / 1000)),
      processes,
      ...cpuBudget(processes, gen, [report], sinkCpuBefore, points),
    };
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
function clusterScenario(name: string, gateways: number): Promise<{ median: ThroughputResult; all: ThroughputResult[] }> {
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

/** A figure's median over every run, with the runs' range when there are several. */
function spread(values: number[], unit: string): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return `${median(values)}${unit}${values.length > 1 && low !== high ? ` (${low}-${high})` : ''}`;
}

/** Peak RSS and CPU per million points of one program: medians of the runs, not the median run's. */
function processFigure(all: ThroughputResult[], program: string): string {
  return `${spread(
    all.map((r) => r.processes[program]!.peakRssMb),
    ' MB',
  )} / ${spread(
    all.map((r) => r.processes[program]!.cpuSecondsPerMillion),
    ' s',
  )}`;
}

function relayFigure(all: ThroughputResult[], r: ThroughputResult): string {
  return `${r.pointsPerSecond.toLocaleString('en')} points/s, ${r.lost} lost, RSS / CPU per 1M points ${processFigure(all, 'relay')}; ${harnessFigure(r)}`;
}

/** What the load balancer adds per million points: its own CPU, and the gateway's and proxy's difference. */
function haproxyCost(direct: ThroughputResult, through: ThroughputResult): string {
  const total = (r: ThroughputResult): number => Math.round(Object.values(r.processes).reduce((n, p) => n + p.cpuSecondsPerMillion, 0) * 100) / 100;
  return `direct ${total(direct)} s (proxy + gateway), through HAProxy ${total(through)} s (proxy + HAProxy + gateway): HAProxy itself ${through.processes['haproxy']?.cpuSecondsPerMillion ?? 0} s`;
}

function harnessFigure(r: ThroughputResult): string {
  const h = r.harnessCpuSecondsPerMillion;
  return `generator ${h.generator} s, sink ${h.sink} s; CPU-bound ceiling ${r.cpuBoundPointsPerSecond.toLocaleString('en')} points/s`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Runs a scenario `runs` times and keeps the run with the median points per second (or p99). */
async function repeated<T>(name: string, fn: () => Promise<T>, key: (r: T) => number): Promise<{ median: T; all: T[] }> {
  const all: T[] = [];
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`bench: ${name} run ${i + 1}/${runs}\n`);
    all.push(await fn());
  }
  const m = median(all.map(key));
  return { median: all.find((r) => key(r) === m)!, all };
}

/** A scenario's result, or undefined when --only left it out. */
async function scenario<T>(key: string, name: string, fn: () => Promise<T>, by: (r: T) => number): Promise<{ median: T; all: T[] } | undefined> {
  return wanted(key) ? repeated(name, fn, by) : undefined;
}

const results = {
  date: new Date().toISOString(),
  cores: cpus().length,
  node: process.version,
  runs,
  endToEnd: await scenario(
    'endToEnd',
    'end to end',
    () => endToEnd(burstPoints),
    (r) => r.pointsPerSecond,
  ),
  latency: await scenario('latency', 'latency at 100k/s', latency, (r) => r.p99Ms),
  relayBroadcast: await scenario(
    'relayBroadcast',
    'relay broadcast',
    () => relay(burstPoints, 'broadcast'),
    (r) => r.pointsPerSecond,
  ),
  relayHashRoute: await scenario(
    'relayHashRoute',
    'relay hash-route',
    () => relay(burstPoints, 'hash-route'),
    (r) => r.pointsPerSecond,
  ),
  relayHashRouteRules: await scenario(
    'relayHashRouteRules',
    'relay hash-route with rules',
    () => relay(burstPoints, 'hash-route', writeBenchRules()),
    (r) => r.pointsPerSecond,
  ),
  cluster: wanted('cluster')
    ? {
        direct: await clusterScenario('1 gateway, direct', 0),
        haproxy1: await clusterScenario('HAProxy, 1 gateway', 1),
        haproxy2: await clusterScenario('HAProxy, 2 gateways', 2),
        haproxy3: await clusterScenario('HAProxy, 3 gateways', 3),
      }
    : undefined,
  micro: wanted('micro') ? await runMicroBenchmarks(quick) : undefined,
};

const e = results.endToEnd?.median;
const l = results.latency?.median;
const rb = results.relayBroadcast?.median;
const rh = results.relayHashRoute?.median;
const rr = results.relayHashRouteRules?.median;
const rows: Array<[string, string]> = [
  ['machine', `${results.cores} cores, Node ${results.node}; rates: the median run of ${runs}; RSS and CPU: medians (range) of the runs`],
  ...(e
    ? ([
        [
          'end to end (proxy -> gateway -> sink)',
          `${e.pointsPerSecond.toLocaleString('en')} points/s (runs ${results.endToEnd!.all.map((r) => r.pointsPerSecond.toLocaleString('en')).join(', ')}), ${e.points.toLocaleString('en')} sent, ${e.lost} lost, ${e.duplicates} duplicated`,
        ],
        ['wire bytes per point (gzip)', `${e.wireBytesPerPoint} (compression ${e.compressionRatio}x)`],
        ['proxy peak RSS / CPU per 1M points', processFigure(results.endToEnd!.all, 'proxy')],
        ['gateway peak RSS / CPU per 1M points', processFigure(results.endToEnd!.all, 'gateway')],
        ['harness CPU per 1M points', harnessFigure(e)],
      ] as Array<[string, string]>)
    : []),
  ...(l
    ? ([[`latency at ${l.ratePerSecond.toLocaleString('en')} points/s`, `p50 ${l.p50Ms} ms, p99 ${l.p99Ms} ms, max ${l.maxMs} ms, ${l.lost} lost`]] as Array<[string, string]>)
    : []),
  ...(rb ? ([['relay broadcast to 1 sink', relayFigure(results.relayBroadcast!.all, rb)]] as Array<[string, string]>) : []),
  ...(rh ? ([['relay hash-route to 3 sinks', relayFigure(results.relayHashRoute!.all, rh)]] as Array<[string, string]>) : []),
  ...(results.cluster
    ? ([
        ['cluster: 1 gateway, direct', clusterFigure(results.cluster.direct.median)],
        ['cluster: HAProxy -> 1 gateway', clusterFigure(results.cluster.haproxy1.median)],
        ['cluster: HAProxy -> 2 gateways', clusterFigure(results.cluster.haproxy2.median)],
        ['cluster: HAProxy -> 3 gateways', clusterFigure(results.cluster.haproxy3.median)],
        ['cluster: CPU per 1M, HAProxy vs direct', haproxyCost(results.cluster.direct.median, results.cluster.haproxy1.median)],
      ] as Array<[string, string]>)
    : []),
  ...(rr
    ? ([
        [
          'relay hash-route with rules (10 rewrite, 100-line blacklist)',
          `${relayFigure(results.relayHashRouteRules!.all, rr)}${rh ? `; ${Math.round((rr.pointsPerSecond / rh.pointsPerSecond) * 100)} % of the rate without rules` : ''}`,
        ],
      ] as Array<[string, string]>)
    : []),
  ...(results.micro ?? []).map((m): [string, string] => [`micro: ${m.name}`, m.figure]),
];
const width = Math.max(...rows.map(([k]) => k.length));
process.stdout.write(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n');

const outDir = join(here, '..', '..', 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `${results.date.replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
writeFileSync(file, JSON.stringify(results, null, 2));
writeFileSync(join(outDir, 'latest.json'), JSON.stringify(results, null, 2));
process.stdout.write(`JSON: ${file}\n`);
if (cpuProfDir) {
  for (const program of readdirSync(cpuProfDir)) {
    for (const profile of readdirSync(join(cpuProfDir, program))) process.stdout.write(`\n${formatTop(join(cpuProfDir, program, profile))}\n`);
  }
}
