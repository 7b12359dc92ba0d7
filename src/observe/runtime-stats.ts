// The process figures the original's runstats reported (Go MemStats names), mapped to what Node
// knows: Alloc/HeapAlloc/HeapInuse = V8 heap used, HeapSys = V8 heap total, HeapIdle = their
// difference, Sys = resident set size; plus Node's own External and ArrayBuffers.

export function runtimeMeminfo(): Record<string, number> {
  const mem = process.memoryUsage();
  return {
    Alloc: mem.heapUsed,
    Sys: mem.rss,
    HeapAlloc: mem.heapUsed,
    HeapSys: mem.heapTotal,
    HeapInuse: mem.heapUsed,
    HeapIdle: mem.heapTotal - mem.heapUsed,
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
