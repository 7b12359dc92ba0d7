// What every throughput scenario shares: the counting sink, the load generator process, waiting for
// the last point, and the figures read from /proc (peak RSS, CPU) and from a program's /metrics.
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoadOptions } from '../harness/load-generator.js';
import type { RunningProgram } from '../harness/programs.js';
import { startSink as startCountingSink, type Sink, type SinkReport } from '../harness/sink-process.js';
import { CONNECTIONS, nodeArgs, runs } from './options.js';

const here = dirname(fileURLToPath(import.meta.url));

/** A sink for `points` spread over the bench's connections, on `host` (127.0.0.1 unless given). */
export const startSink = (points: number, host?: string): Promise<Sink> => startCountingSink(CONNECTIONS, Math.ceil(points / CONNECTIONS), nodeArgs('sink'), host);

export interface Generated {
  sent: number;
  elapsedMs: number;
  startMs: number;
  cpuSeconds: number;
}

export function generate(port: number, points: number, ratePerSecond?: number, chunkTimesFile?: string): Promise<Generated> {
  return generateLoad(port, { points, ...(ratePerSecond ? { ratePerSecond } : {}), ...(chunkTimesFile ? { chunkTimesFile } : {}) });
}

/** A load's points and pace, and its connections and writes when they are not the bench's usual ones. */
export interface LoadJob extends Partial<Pick<LoadOptions, 'connections' | 'linesPerChunk' | 'spreadStarts' | 'connectAtOnce'>> {
  readonly points: number;
  readonly ratePerSecond?: number;
  readonly chunkTimesFile?: string;
  /** Distinct metric names the points cycle through (the generator's default when absent: 10,000). */
  readonly distinctNames?: number;
}

/** `onConnected`: called once every connection is open, before the first write (the generator waits for it). */
export async function generateLoad(port: number, job: LoadJob, onConnected?: () => Promise<void> | void): Promise<Generated> {
  const child: ChildProcess = fork(join(here, 'generator.js'), [], { stdio: 'inherit', execArgv: nodeArgs('generator') });
  child.send({ port, connections: CONNECTIONS, seed: 42, ...job, handshake: !!onConnected });
  let [msg] = (await once(child, 'message')) as [{ type: string; message?: string } & Generated];
  if (onConnected && msg.type === 'connected') {
    await onConnected();
    child.send({ type: 'go' });
    [msg] = (await once(child, 'message')) as [{ type: string; message?: string } & Generated];
  }
  if (msg.type !== 'done') throw new Error(`load generator failed: ${msg.message}`);
  return msg;
}

/** Waits until the sink has every point, or until nothing arrived for `quietMs`. */
export async function settle(sink: Sink, points: number, quietMs = 5000): Promise<SinkReport> {
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

export interface ProcessFigures {
  peakRssMb: number;
  cpuSeconds: number;
}

export function processFigures(pid: number): ProcessFigures {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0);
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return { peakRssMb: Math.round((hwm / 1024) * 10) / 10, cpuSeconds: ticks / 100 };
}

export async function scrape(statPort: number, metric: RegExp): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${statPort}/metrics`);
  const text = await res.text();
  let total = 0;
  for (const line of text.split('\n')) {
    const m = metric.exec(line);
    if (m) total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

export interface ThroughputResult {
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

export const perMillion = (seconds: number, points: number): number => Math.round((seconds / (points / 1e6)) * 100) / 100;

/** CPU seconds of each program now, to leave start-up out of the figures. */
export function cpuNow(programs: Record<string, RunningProgram>): Record<string, number> {
  return Object.fromEntries(Object.entries(programs).map(([name, p]) => [name, processFigures(p.proc.pid!).cpuSeconds]));
}

/** Harness CPU and the CPU-bound ceiling of a throughput run; sinkCpuBefore: the sinks' CPU before the load. */
export function cpuBudget(
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

/** A run's figures at one sink: what arrived against `points`, the rate from the first write, and the CPU budget. */
export function throughputOf(
  points: number,
  report: SinkReport,
  gen: Generated,
  processes: ThroughputResult['processes'],
  sinkCpuBefore: number,
): Omit<ThroughputResult, 'wireBytesPerPoint' | 'compressionRatio'> {
  return {
    points,
    arrived: report.lines,
    lost: points - report.distinct,
    duplicates: report.duplicates,
    pointsPerSecond: Math.round(report.distinct / ((report.lastArrivalMs - gen.startMs) / 1000)),
    processes,
    ...cpuBudget(processes, gen, [report], sinkCpuBefore, points),
  };
}

/** Peak RSS, and the CPU spent since `cpuBefore` (cpuNow taken before the load). */
export function figures(programs: Record<string, RunningProgram>, cpuBefore: Record<string, number>, points: number): ThroughputResult['processes'] {
  const out: ThroughputResult['processes'] = {};
  for (const [name, p] of Object.entries(programs)) {
    const now = processFigures(p.proc.pid!);
    const f = { ...now, cpuSeconds: Math.round((now.cpuSeconds - cpuBefore[name]!) * 100) / 100 };
    out[name] = { ...f, cpuSecondsPerMillion: perMillion(f.cpuSeconds, points) };
  }
  return out;
}

export async function stopAll(programs: RunningProgram[]): Promise<void> {
  for (const p of programs) await p.stop();
}

/** The gateway flags of every scenario: the bench's key, and room for a whole burst in its queue. */
export const GATEWAY_ARGS = ['-dev-mode', '-outgoing-queue-cap', '1000000'];

/** A figure's median over every run, with the runs' range when there are several. */
export function spread(values: number[], unit: string): string {
  const low = Math.min(...values);
  const high = Math.max(...values);
  return `${median(values)}${unit}${values.length > 1 && low !== high ? ` (${low}-${high})` : ''}`;
}

/** Peak RSS and CPU per million points of one program: medians of the runs, not the median run's. */
export function processFigure(all: ThroughputResult[], program: string): string {
  return `${spread(
    all.map((r) => r.processes[program]!.peakRssMb),
    ' MB',
  )} / ${spread(
    all.map((r) => r.processes[program]!.cpuSecondsPerMillion),
    ' s',
  )}`;
}

export function relayFigure(all: ThroughputResult[], r: ThroughputResult): string {
  return `${r.pointsPerSecond.toLocaleString('en')} points/s, ${r.lost} lost, RSS / CPU per 1M points ${processFigure(all, 'relay')}; ${harnessFigure(r)}`;
}

export function harnessFigure(r: ThroughputResult): string {
  const h = r.harnessCpuSecondsPerMillion;
  return `generator ${h.generator} s, sink ${h.sink} s; CPU-bound ceiling ${r.cpuBoundPointsPerSecond.toLocaleString('en')} points/s`;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** A scenario's runs, and the median one. */
export interface Repeated<T> {
  readonly median: T;
  readonly all: T[];
}

/** Runs a scenario `runs` times and keeps the run with the median points per second (or p99). */
export async function repeated<T>(name: string, fn: () => Promise<T>, key: (r: T) => number): Promise<Repeated<T>> {
  const all: T[] = [];
  for (let i = 0; i < runs; i++) {
    process.stderr.write(`bench: ${name} run ${i + 1}/${runs}\n`);
    all.push(await fn());
  }
  const m = median(all.map(key));
  return { median: all.find((r) => key(r) === m)!, all };
}

/**
 * Runs every case once per round, `runs` rounds, so that a busier minute of the shared machine falls
 * on each case alike (a dimension's rows are compared with each other); each case's runs and median one.
 */
export async function interleaved<C extends { readonly key: string }, T>(
  name: (c: C) => string,
  cases: readonly C[],
  fn: (c: C) => Promise<T>,
  key: (r: T) => number,
): Promise<Record<C['key'], Repeated<T>>> {
  const all = new Map<C, T[]>(cases.map((c) => [c, []]));
  for (let i = 0; i < runs; i++) {
    for (const c of cases) {
      process.stderr.write(`bench: ${name(c)} run ${i + 1}/${runs}\n`);
      all.get(c)!.push(await fn(c));
    }
  }
  const out = {} as Record<C['key'], Repeated<T>>;
  for (const [c, results] of all) {
    const m = median(results.map(key));
    out[c.key as C['key']] = { median: results.find((r) => key(r) === m)!, all: results };
  }
  return out;
}
