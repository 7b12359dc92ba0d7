// `npm run bench`: the real programs as separate processes on 127.0.0.1, fed by the load generator,
// measured at a counting sink. Prints a table and writes JSON (bench/results/).
//   node dist/bench/run.js [--quick] [--runs N] [--points N] [--only a,b] [--cpu-prof DIR]
// --only runs some scenarios (their keys, below); --cpu-prof writes a V8 CPU profile of each process
// (proxy, gateway, relay, generator, sink) to DIR.
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatTop } from './profile-top.js';
import { microScenario } from './micro.js';
import { cpuProfDir, quick, runs, wanted } from './options.js';
import type { Row, Scenario } from './scenario.js';
import { clusterScenarios } from './scenarios/cluster.js';
import { connectionsScenario } from './scenarios/connections.js';
import { destinationsScenario } from './scenarios/destinations.js';
import { endToEndScenario } from './scenarios/end-to-end.js';
import { keysScenario } from './scenarios/keys.js';
import { latencyScenario } from './scenarios/latency.js';
import { namesScenario } from './scenarios/names.js';
import { relayBroadcastScenario, relayHashRouteRulesScenario, relayHashRouteScenario } from './scenarios/relay.js';

/** In the order they run; a scenario's rows may compare it with one before it. */
const SCENARIOS: readonly Scenario[] = [
  endToEndScenario,
  latencyScenario,
  relayBroadcastScenario,
  relayHashRouteScenario,
  relayHashRouteRulesScenario,
  namesScenario,
  clusterScenarios,
  destinationsScenario,
  keysScenario,
  connectionsScenario,
  microScenario,
];

const here = dirname(fileURLToPath(import.meta.url));
const results: Record<string, unknown> = { date: new Date().toISOString(), cores: cpus().length, node: process.version, runs };
const rows: Row[] = [['machine', `${cpus().length} cores, Node ${process.version}; rates: the median run of ${runs}; RSS and CPU: medians (range) of the runs`]];
for (const scenario of SCENARIOS) {
  if (!wanted(scenario.key)) continue;
  const result = await scenario.run();
  results[scenario.key] = result;
  rows.push(...scenario.rows(result, results));
}
const width = Math.max(...rows.map(([k]) => k.length));
process.stdout.write(rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n');

const outDir = join(here, '..', '..', 'bench', 'results');
mkdirSync(outDir, { recursive: true });
const file = join(outDir, `${String(results['date']).replace(/[:.]/g, '-')}${quick ? '-quick' : ''}.json`);
writeFileSync(file, JSON.stringify(results, null, 2));
writeFileSync(join(outDir, 'latest.json'), JSON.stringify(results, null, 2));
process.stdout.write(`JSON: ${file}\n`);
if (cpuProfDir) {
  for (const program of readdirSync(cpuProfDir)) {
    for (const profile of readdirSync(join(cpuProfDir, program))) process.stdout.write(`\n${formatTop(join(cpuProfDir, program, profile))}\n`);
  }
}
