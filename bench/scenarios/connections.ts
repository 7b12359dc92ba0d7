// The client-connections dimension: the same load into the relay and into the proxy (the same TCP
// input, src/input/tcp-listener.ts) over 8, 2,000 and 10,000 connections, flat out and as a
// collectd-like trickle (each connection writes 200 lines at a time, the connections' writes spread
// evenly in time), with CPU per 1M points and peak RSS against 8 connections in the same run. The
// measured window starts once every connection is open.
import { startGateway, startProxy, startRelay, type ListenerProcess } from '../../harness/system.js';
import { startSink as startCountingSink, type Sink } from '../../harness/sink-process.js';
import type { RunningProgram } from '../../harness/programs.js';
import {
  throughputOf,
  cpuNow,
  figures,
  GATEWAY_ARGS,
  generateLoad,
  median,
  processFigure,
  repeated,
  scrape,
  settle,
  stopAll,
  type Repeated,
  type ThroughputResult,
} from '../measure.js';
import { burstPoints, nodeArgs, quick, wantedProgram } from '../options.js';
import { defineScenario, type Row } from '../scenario.js';

/** The base case the others are compared with. */
const BASE = 8;
/** --quick (the bench's test) leaves 10,000 out: opening them takes seconds a run. */
const COUNTS: readonly number[] = quick ? [BASE, 2000] : [BASE, 2000, 10_000];
/**
 * The trickle: every write is TRICKLE_LINES lines, as collectd's (a few hundred every 10 s), and the
 * total rate is the same for every count, so the runs differ only in how many connections the
 * writes come from: at 10,000 connections each writes once every 10 s, at 2,000 every 2 s, at 8
 * every 8 ms. (8 connections at collectd's own pace would send 160 points/s, too few to measure.)
 */
const TRICKLE_LINES = 200;
const TRICKLE_POINTS_PER_SECOND = 200_000;
/** Points of a trickle run: 10 s at the trickle's rate (1 s with --quick). */
const TRICKLE_POINTS = quick ? 200_000 : 2_000_000;
/** Connections the generator opens at a time: within the listener's accept backlog (511). */
const CONNECT_AT_ONCE = 256;
/** What both programs need to take 10,000 connections from one address. */
const CONNECTION_ARGS = ['-max-connections', '20000', '-max-connections-per-ip', '0'];

export type Program = 'relay' | 'proxy';
export type Mode = 'flat out' | 'trickle';
const PROGRAMS: readonly Program[] = (['relay', 'proxy'] as const).filter(wantedProgram);
const MODES: readonly Mode[] = ['flat out', 'trickle'];

async function startProgramFor(program: Program, sink: Sink): Promise<{ measured: ListenerProcess; all: RunningProgram[] }> {
  if (program === 'relay') {
    const relay = await startRelay(['-destinations', `127.0.0.1:${sink.port}`, '-outgoing-queue-cap', '1000000', ...CONNECTION_ARGS], {}, nodeArgs('relay'));
    return { measured: relay, all: [relay] };
  }
  const gateway = await startGateway({ args: [...GATEWAY_ARGS, '-destinations', `127.0.0.1:${sink.port}`], nodeArgs: nodeArgs('gateway') });
  const proxy = await startProxy({ gateway: gateway.url, cert: gateway.cert, apiKey: '123', args: ['-verbose=false', ...CONNECTION_ARGS], nodeArgs: nodeArgs('proxy') });
  await proxy.waitForLog(/successful/);
  return { measured: proxy, all: [proxy, gateway] };
}

export async function overConnections(program: Program, mode: Mode, connections: number): Promise<ThroughputResult> {
  const points = mode === 'trickle' ? TRICKLE_POINTS : burstPoints;
  const sink = await startCountingSink(connections, Math.ceil(points / connections), nodeArgs('sink'));
  const { measured, all } = await startProgramFor(program, sink);
  try {
    const trickle = {
      ratePerSecond: TRICKLE_POINTS_PER_SECOND,
      linesPerChunk: TRICKLE_LINES,
      spreadStarts: true,
    };
    const shape = { connections, connectAtOnce: CONNECT_AT_ONCE, ...(mode === 'trickle' ? trickle : {}) };
    // The window starts once every connection is open: what a long-lived connection costs, not its set-up.
    let cpuBefore: Record<string, number> = {};
    const sinkCpuBefore = (await sink.report()).cpuSeconds;
    const gen = await generateLoad(measured.port, { points, ...shape }, async () => {
      await allAccepted(measured, connections);
      cpuBefore = cpuNow({ [program]: measured });
    });
    const report = await settle(sink, points);
    const processes = figures({ [program]: measured }, cpuBefore, points);
    return throughputOf(points, report, gen, processes, sinkCpuBefore);
  } finally {
    await stopAll(all);
    await sink.stop();
  }
}

/** Waits until the program holds every connection the generator opened (its accept loop may lag the clients' connects). */
async function allAccepted(p: ListenerProcess, connections: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  while ((await scrape(p.statPort, /^polymur_connections_open/)) < connections) {
    if (Date.now() > deadline) throw new Error(`bench: ${connections} connections opened, but the program holds fewer after 60 s`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

type ConnectionsResult = Record<Program, Record<Mode, Record<number, Repeated<ThroughputResult>>>>;

const medianOf = (r: Repeated<ThroughputResult>, program: Program, figure: 'cpuSecondsPerMillion' | 'peakRssMb'): number =>
  median(r.all.map((run) => run.processes[program]![figure]));
const ratio = (a: number, b: number): string => `${Math.round((a / b) * 100) / 100}x`;

export const connectionsScenario = defineScenario({
  key: 'connections',
  async run() {
    const result = {} as ConnectionsResult;
    for (const program of PROGRAMS) {
      result[program] = { 'flat out': {}, trickle: {} };
      for (const mode of MODES) {
        for (const n of COUNTS) {
          result[program][mode][n] = await repeated(
            `${program} ${mode}, ${n} connections`,
            () => overConnections(program, mode, n),
            (r) => r.processes[program]!.cpuSecondsPerMillion,
          );
        }
      }
    }
    return result;
  },
  rows(result: ConnectionsResult): Row[] {
    const rows: Row[] = [];
    for (const program of PROGRAMS) {
      for (const mode of MODES) {
        const base = result[program][mode][BASE]!;
        for (const n of COUNTS) {
          const r = result[program][mode][n]!;
          const m = r.median;
          const against =
            n === BASE
              ? ''
              : `; against ${BASE}: CPU ${ratio(medianOf(r, program, 'cpuSecondsPerMillion'), medianOf(base, program, 'cpuSecondsPerMillion'))}, RSS ${ratio(medianOf(r, program, 'peakRssMb'), medianOf(base, program, 'peakRssMb'))}`;
          rows.push([
            `connections: ${program}, ${mode}, ${n.toLocaleString('en')}`,
            `RSS / CPU per 1M points ${processFigure(r.all, program)}${against}; ${m.points.toLocaleString('en')} sent, ${m.lost} lost, ${m.duplicates} duplicated, ${m.pointsPerSecond.toLocaleString('en')} points/s; generator ${m.harnessCpuSecondsPerMillion.generator} s`,
          ]);
        }
      }
    }
    return rows;
  },
});
