// Counting what arrived against what was sent, by the unique id each generated line carries.
import { readFileSync } from 'node:fs';
import { pointId } from '../../bench/load-generator.js';

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

/** Polls `check` every 50 ms until it is true; rejects after `timeoutMs` with `what`. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
