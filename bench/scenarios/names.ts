// The distinct-names dimension: the relay hash-routing to 3 sinks while the load cycles through
// 10,000, 1,000,000 or 5,000,000 distinct metric names (with 5,000,000 points and 5,000,000 names,
// nearly every point carries a name the relay has not seen: a fleet restart, a new site). Each run
// measures every name count in turn, so the ratios compare figures taken under the same load of
// the machine; the table shows medians over the runs, and each run's own ratio.
import { median, relayFigure, spread } from '../measure.js';
import { burstPoints, runs } from '../options.js';
import { defineScenario, type Row } from '../scenario.js';
import { relay, type RelayResult } from './relay.js';

const NAME_COUNTS = [10_000, 1_000_000, 5_000_000] as const;

const CACHE_SERIES = {
  hits: /^polymur_route_name_cache_hits_total /,
  misses: /^polymur_route_name_cache_misses_total /,
  names: /^polymur_route_name_cache_names /,
  bytes: /^polymur_route_name_cache_bytes /,
  windowPeak: /^polymur_resend_window_peak_bytes[{ ]/,
};

/** Every run's result per name count; runs[i] of each count were taken one after the other. */
type NamesResult = Record<string, RelayResult[]>;

const cpuOf = (r: RelayResult): number => r.processes['relay']!.cpuSecondsPerMillion;
const rssOf = (r: RelayResult): number => r.processes['relay']!.peakRssMb;
const ratio = (a: number, b: number): number => Math.round((a / b) * 100) / 100;
const hitRate = (r: RelayResult): number => {
  const lookups = r.metrics['hits']! + r.metrics['misses']!;
  return lookups === 0 ? 0 : Math.round((r.metrics['hits']! / lookups) * 1000) / 10;
};

async function run(): Promise<NamesResult> {
  const out: NamesResult = Object.fromEntries(NAME_COUNTS.map((n) => [String(n), []]));
  for (let i = 0; i < runs; i++) {
    for (const distinctNames of NAME_COUNTS) {
      process.stderr.write(`bench: relay hash-route, ${distinctNames.toLocaleString('en')} distinct names, run ${i + 1}/${runs}\n`);
      out[String(distinctNames)]!.push(await relay(burstPoints, 'hash-route', [], { distinctNames, metrics: CACHE_SERIES }));
    }
  }
  return out;
}

function rows(result: NamesResult): Row[] {
  const base = result[String(NAME_COUNTS[0])]!;
  return NAME_COUNTS.map((distinctNames): Row => {
    const all = result[String(distinctNames)]!;
    const rates = all.map((r) => r.pointsPerSecond);
    const medianRun = all.find((r) => r.pointsPerSecond === median(rates))!;
    const againstBase =
      distinctNames === NAME_COUNTS[0]
        ? ''
        : `; against 10,000 names: CPU ${ratio(median(all.map(cpuOf)), median(base.map(cpuOf)))}x (per run ${all.map((r, i) => ratio(cpuOf(r), cpuOf(base[i]!))).join(', ')}), ` +
          `RSS ${ratio(median(all.map(rssOf)), median(base.map(rssOf)))}x, rate ${ratio(median(rates), median(base.map((r) => r.pointsPerSecond)))}x`;
    const cache = `name cache hit rate ${spread(all.map(hitRate), ' %')}, ${medianRun.metrics['names']!.toLocaleString('en')} names / ${Math.round(medianRun.metrics['bytes']! / 2 ** 20)} MiB held at the end`;
    const window = `resend window peak (the destinations' peaks added) ${spread(
      all.map((r) => Math.round((r.metrics['windowPeak']! / 2 ** 20) * 10) / 10),
      ' MiB',
    )}`;
    return [`relay hash-route, ${distinctNames.toLocaleString('en')} distinct names`, `${relayFigure(all, medianRun)}; ${cache}; ${window}${againstBase}`];
  });
}

export const namesScenario = defineScenario({ key: 'names', run, rows });
