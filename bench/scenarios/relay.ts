// The relay (polymur) at full speed: broadcast to one sink, hash-route to three, and hash-route
// through carbon's rule files (10 rewrite rules, a 100-line blacklist).
import { startRelay } from '../../harness/system.js';
import { cpuBudget, cpuNow, figures, generateLoad, relayFigure, repeated, scrape, settle, startSink, type Repeated, type ThroughputResult } from '../measure.js';
import { burstPoints, nodeArgs } from '../options.js';
import { writeBenchRules } from '../rules.js';
import { defineScenario, type Row } from '../scenario.js';

/** What a scenario varies beyond the defaults: the load's distinct names, and series read from the relay's /metrics. */
export interface RelayLoad {
  readonly distinctNames?: number;
  /** Summed over the matching lines, read once every point arrived; in the result's `metrics` by the same keys. */
  readonly metrics?: Readonly<Record<string, RegExp>>;
}

export type RelayResult = ThroughputResult & { readonly metrics: Record<string, number> };

/** `ruleArgs`: the relay's rule-file flags (the scenario with rules), none for the one without. */
export async function relay(points: number, distribution: 'broadcast' | 'hash-route', ruleArgs: string[] = [], load: RelayLoad = {}): Promise<RelayResult> {
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
    const gen = await generateLoad(relayProcess.port, { points, ...(load.distinctNames ? { distinctNames: load.distinctNames } : {}) });
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
    const metrics: Record<string, number> = {};
    for (const [key, series] of Object.entries(load.metrics ?? {})) metrics[key] = await scrape(relayProcess.statPort, series);
    return {
      metrics,
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

export const relayBroadcastScenario = defineScenario({
  key: 'relayBroadcast',
  run: () =>
    repeated(
      'relay broadcast',
      () => relay(burstPoints, 'broadcast'),
      (r) => r.pointsPerSecond,
    ),
  rows: ({ median, all }: Repeated<ThroughputResult>): Row[] => [['relay broadcast to 1 sink', relayFigure(all, median)]],
});

export const relayHashRouteScenario = defineScenario({
  key: 'relayHashRoute',
  run: () =>
    repeated(
      'relay hash-route',
      () => relay(burstPoints, 'hash-route'),
      (r) => r.pointsPerSecond,
    ),
  rows: ({ median, all }: Repeated<ThroughputResult>): Row[] => [['relay hash-route to 3 sinks', relayFigure(all, median)]],
});

export const relayHashRouteRulesScenario = defineScenario({
  key: 'relayHashRouteRules',
  run: () =>
    repeated(
      'relay hash-route with rules',
      () => relay(burstPoints, 'hash-route', writeBenchRules()),
      (r) => r.pointsPerSecond,
    ),
  rows: ({ median: rr, all }: Repeated<ThroughputResult>, results): Row[] => {
    const rh = (results['relayHashRoute'] as Repeated<ThroughputResult> | undefined)?.median;
    return [
      [
        'relay hash-route with rules (10 rewrite, 100-line blacklist)',
        `${relayFigure(all, rr)}${rh ? `; ${Math.round((rr.pointsPerSecond / rh.pointsPerSecond) * 100)} % of the rate without rules` : ''}`,
      ],
    ];
  },
});
