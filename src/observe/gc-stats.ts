// Garbage collections seen since start, as Go's MemStats counts them (NumGC, PauseTotalNs, LastGC):
// V8 reports each collection to a PerformanceObserver with its duration. Started once, on first use.
import { PerformanceObserver } from 'node:perf_hooks';

export interface GcTotals {
  readonly count: number;
  readonly pauseTotalNs: number;
  /** When the last collection ended, in nanoseconds since the Unix epoch (0 before the first). */
  readonly lastEndNs: number;
}

let totals = { count: 0, pauseTotalNs: 0, lastEndNs: 0 };
let observer: PerformanceObserver | undefined;

export function gcTotals(): GcTotals {
  if (!observer) {
    observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        totals = {
          count: totals.count + 1,
          pauseTotalNs: totals.pauseTotalNs + Math.round(entry.duration * 1e6),
          lastEndNs: Math.round((performance.timeOrigin + entry.startTime + entry.duration) * 1e6),
        };
      }
    });
    observer.observe({ entryTypes: ['gc'] });
  }
  return totals;
}
