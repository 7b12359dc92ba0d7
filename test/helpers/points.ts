// Counting what arrived against what was sent, by the unique id each generated line carries.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { pointId } from '../../harness/load-generator.js';
import { until } from '../../harness/wait.js';

export interface Delivery {
  readonly sent: number;
  readonly arrived: number;
  readonly distinct: number;
  readonly missing: number;
  readonly duplicated: number;
}

export function delivery(lines: readonly string[], connections: number, points: number): Delivery {
  const counts = new Map<number, number>();
  for (const line of lines) {
    const id = Number(line.split(' ')[1]);
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  const perConnection = Math.ceil(points / connections);
  let missing = 0;
  for (let c = 0; c < connections; c++) {
    const n = Math.min(perConnection, points - c * perConnection);
    for (let s = 0; s < n; s++) if (!counts.has(pointId(c, s))) missing++;
  }
  return { sent: points, arrived: lines.length, distinct: counts.size, missing, duplicated: lines.length - counts.size };
}

/** Peak resident memory of a process so far, in MB (Linux VmHWM). */
export function peakRssMb(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Math.round(Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 102.4) / 10;
}

/** A counter's value (summed over its labels) from a program's /metrics. */
export async function scrapeCounter(statPort: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${statPort}/metrics`)).text();
  let total = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) {
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

export { until };

/**
 * The end of a test that attacks a program while the load generator sends through it: waits until
 * every generated point (the `collectd.` lines) is at the sink, prints the figures, and requires
 * that none is missing and that the program's peak RSS stayed under the bound.
 */
export async function assertLoadDelivered(opts: {
  name: string;
  figures: string;
  sink: { readonly lines: readonly string[] };
  connections: number;
  points: number;
  program: string;
  pid: number;
  maxRssMb: number;
}): Promise<void> {
  const good = (): string[] => opts.sink.lines.filter((l) => l.startsWith('collectd.'));
  await until('every well-behaved point at the sink', () => delivery(good(), opts.connections, opts.points).missing === 0, 60_000);
  const d = delivery(good(), opts.connections, opts.points);
  const rss = peakRssMb(opts.pid);
  process.stdout.write(
    `# ${opts.name}: ${opts.figures}; well-behaved client sent ${d.sent}, arrived ${d.arrived}, missing ${d.missing}, duplicated ${d.duplicated}; ${opts.program} peak RSS ${rss} MB\n`,
  );
  assert.equal(d.missing, 0);
  assert.ok(rss < opts.maxRssMb, `${opts.program} peak RSS ${rss} MB stays below ${opts.maxRssMb} MB`);
}
