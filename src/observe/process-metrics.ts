// Process gauges for /metrics.
import type { Registry } from './metrics.js';

export function registerProcessMetrics(registry: Registry): void {
  registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes', () => process.memoryUsage().rss);
  registry.gauge('nodejs_heap_used_bytes', 'V8 heap in use in bytes', () => process.memoryUsage().heapUsed);
  registry.gauge('nodejs_external_memory_bytes', 'Memory of Buffers and other objects outside the V8 heap', () => process.memoryUsage().external);
  registry.gauge('process_cpu_seconds_total', 'User and system CPU time in seconds', () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  });
  const started = Date.now() / 1000;
  registry.gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch in seconds', () => started);
}
