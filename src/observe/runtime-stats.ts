// The process figures the original's runstats reported (Go MemStats names), mapped to what Node
// knows: Alloc/HeapAlloc/HeapInuse = V8 heap used, HeapSys = V8 heap total, HeapIdle = their
// difference, Sys = resident set size, NumGC/PauseTotalNs/LastGC = V8's collections (count, time
// spent, when the last ended); plus Node's own External and ArrayBuffers. Go's allocator figures
// (TotalAlloc, Mallocs, Frees, Lookups, HeapObjects, HeapReleased, the Stack/MSpan/MCache/BuckHash/
// GC/Other Sys figures, NextGC) have no Node equivalent and are left out (README, Observability).
import { gcTotals } from './gc-stats.js';

export function runtimeMeminfo(): Record<string, number> {
  const mem = process.memoryUsage();
  const gc = gcTotals();
  return {
    Alloc: mem.heapUsed,
    Sys: mem.rss,
    HeapAlloc: mem.heapUsed,
    HeapSys: mem.heapTotal,
    HeapInuse: mem.heapUsed,
    HeapIdle: mem.heapTotal - mem.heapUsed,
    NumGC: gc.count,
    PauseTotalNs: gc.pauseTotalNs,
    LastGC: gc.lastEndNs,
    External: mem.external,
    ArrayBuffers: mem.arrayBuffers,
  };
}

/** The `stats` command's reply, as runstats built it. */
export function buildStats(startedAt: Date): Record<string, Record<string, unknown>> {
  return {
    service: {
      'start-time': startedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
      'uptime-seconds': Math.floor((Date.now() - startedAt.getTime()) / 1000),
    },
    'runtime-meminfo': runtimeMeminfo(),
  };
}
