// The relay (polymur) hash-routing the same load to 1, 3 and 12 sinks, with -replication-factor 2
// (1 sink: 1): what each more destination, and each copy, costs per point. carbon's ring puts the
// copies of a name on distinct hosts, so each sink listens on its own loopback address (127.0.0.N).
import { startRelay } from '../../harness/system.js';
import { cpuBudget, cpuNow, figures, generate, harnessFigure, interleaved, median, processFigure, startSink, type Repeated, type ThroughputResult } from '../measure.js';
import { burstPoints, nodeArgs } from '../options.js';
import { defineScenario, type Row } from '../scenario.js';

/** The copies every point should make, and how many of them the sinks saw. */
interface DestinationsResult extends ThroughputResult {
  readonly destinations: number;
  readonly replication: number;
  /** points x replication: what the sinks together must count. */
  readonly copiesExpected: number;
  /** Distinct point ids summed over the sinks (a copy is one sink's id). */
  readonly copiesArrived: number;
}

async function destinations(points: number, count: number, replication: number): Promise<DestinationsResult> {
  const sinks = await Promise.all(Array.from({ length: count }, (_, i) => startSink(points, `127.0.0.${i + 1}`)));
  const relayProcess = await startRelay(
    [
      '-destinations',
      sinks.map((s, i) => `127.0.0.${i + 1}:${s.port}:${String.fromCharCode(97 + i)}`).join(','),
      '-distribution',
      'hash-route',
      '-replication-factor',
      String(replication),
      '-outgoing-queue-cap',
      '1000000',
    ],
    {},
    nodeArgs('relay'),
  );
  try {
    const cpuBefore = cpuNow({ relay: relayProcess });
    const sinkCpuBefore = (await Promise.all(sinks.map((s) => s.report()))).reduce((n, r) => n + r.cpuSeconds, 0);
    const gen = await generate(relayProcess.port, points);
    // Every copy goes to its own sink: settle until they add up, or nothing arrived for 5 s.
    const copiesExpected = points * replication;
    let reports = await Promise.all(sinks.map((s) => s.report()));
    let lines = reports.reduce((n, r) => n + r.lines, 0);
    let lastChange = Date.now();
    while (reports.reduce((n, r) => n + r.distinct, 0) < copiesExpected && Date.now() - lastChange < 5000) {
      await new Promise((r) => setTimeout(r, 100));
      reports = await Promise.all(sinks.map((s) => s.report()));
      const now = reports.reduce((n, r) => n + r.lines, 0);
      if (now !== lines) lastChange = Date.now();
      lines = now;
    }
    const copiesArrived = reports.reduce((n, r) => n + r.distinct, 0);
    const lastArrival = Math.max(...reports.map((r) => r.lastArrivalMs));
    const processes = figures({ relay: relayProcess }, cpuBefore, points);
    return {
      destinations: count,
      replication,
      points,
      copiesExpected,
      copiesArrived,
      arrived: lines,
      lost: copiesExpected - copiesArrived,
      duplicates: reports.reduce((n, r) => n + r.duplicates, 0),
      pointsPerSecond: Math.round(points / ((lastArrival - gen.startMs) / 1000)),
      processes,
      ...cpuBudget(processes, gen, reports, sinkCpuBefore, points),
    };
  } finally {
    await relayProcess.stop();
    for (const s of sinks) await s.stop();
  }
}

const CASES = [
  { key: 'one', destinations: 1, replication: 1 },
  { key: 'three', destinations: 3, replication: 2 },
  { key: 'twelve', destinations: 12, replication: 2 },
] as const;

type Results = Record<(typeof CASES)[number]['key'], Repeated<DestinationsResult>>;

const cpuOf = (all: DestinationsResult[]): number[] => all.map((r) => r.processes['relay']!.cpuSecondsPerMillion);

export const destinationsScenario = defineScenario({
  key: 'destinations',
  run: (): Promise<Results> =>
    interleaved(
      (c) => `destinations: ${c.destinations}, replication ${c.replication}`,
      CASES,
      (c) => destinations(burstPoints, c.destinations, c.replication),
      (r) => r.pointsPerSecond,
    ),
  rows: (results: Results): Row[] => {
    const base = median(cpuOf(results.one.all));
    return CASES.map(({ key, destinations: count, replication }) => {
      const { median: r, all } = results[key];
      const ratio = Math.round((median(cpuOf(all)) / base) * 100) / 100;
      return [
        `destinations: hash-route to ${count}, replication ${replication}`,
        `${r.pointsPerSecond.toLocaleString('en')} points/s, copies ${r.copiesArrived.toLocaleString('en')} of ${r.copiesExpected.toLocaleString('en')} (${r.lost} lost, ${r.duplicates} duplicated); ` +
          `relay RSS / CPU per 1M points ${processFigure(all, 'relay')}, ${ratio}x the CPU of 1 destination; ${harnessFigure(r)}`,
      ];
    });
  },
});
