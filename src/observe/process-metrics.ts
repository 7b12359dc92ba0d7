// The metrics every program shows whatever it runs: the process figures under the names of
// prom-client's default metrics (what Node dashboards query), and polymur_build_info.
import { readdirSync } from 'node:fs';
import { Registry } from './metrics.js';

export interface BuildInfo {
  readonly program: string;
  readonly version: string;
  /** The gzip engine the program loaded (ISA-L addon or zlib). */
  readonly gzip: string;
}

function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return NaN; // not Linux: the figure is unknown rather than made up
  }
}

/** A registry with the process metrics and polymur_build_info already in it. */
export function createProgramRegistry(build: BuildInfo): Registry {
  const registry = new Registry();
  registry.gauge('polymur_build_info', 'Always 1; the labels say which build runs', () => [
    [{ program: build.program, version: build.version, node: process.version, gzip: build.gzip }, 1],
  ]);
  registry.collectedCounter('process_cpu_user_seconds_total', 'User CPU time spent in seconds', () => process.cpuUsage().user / 1e6);
  registry.collectedCounter('process_cpu_system_seconds_total', 'System CPU time spent in seconds', () => process.cpuUsage().system / 1e6);
  registry.collectedCounter('process_cpu_seconds_total', 'Total user and system CPU time spent in seconds', () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  });
  registry.gauge('process_resident_memory_bytes', 'Resident memory size in bytes', () => process.memoryUsage().rss);
  registry.gauge('process_open_fds', 'Number of open file descriptors', openFds);
  const started = Math.round(Date.now() / 1000 - process.uptime());
  registry.gauge('process_start_time_seconds', 'Start time of the process since the Unix epoch in seconds', () => started);
  registry.gauge('nodejs_heap_size_total_bytes', 'V8 heap reserved in bytes', () => process.memoryUsage().heapTotal);
  registry.gauge('nodejs_heap_size_used_bytes', 'V8 heap in use in bytes', () => process.memoryUsage().heapUsed);
  registry.gauge('nodejs_external_memory_bytes', 'Memory of Buffers and other objects outside the V8 heap in bytes', () => process.memoryUsage().external);
  return registry;
}
