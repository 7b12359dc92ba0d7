// The top self-time functions of V8 CPU profiles (node --cpu-prof), to see where a program spends
// its time under the benchmark's load without opening a profiler UI.
//   node dist/bench/profile-top.js FILE.cpuprofile [N]
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

export interface SelfTime {
  readonly fn: string;
  readonly ms: number;
  readonly share: number;
}

export function topSelfTime(file: string, count = 15): { totalMs: number; top: SelfTime[] } {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const frames = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const selfUs = new Map<string, number>();
  let totalUs = 0;
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id)!;
    const where = frame.url ? ` ${frame.url.split('/').slice(-2).join('/')}:${frame.lineNumber + 1}` : '';
    const fn = `${frame.functionName || '(anonymous)'}${where}`;
    const dt = profile.timeDeltas[i] ?? 0;
    selfUs.set(fn, (selfUs.get(fn) ?? 0) + dt);
    totalUs += dt;
  });
  const top = [...selfUs]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([fn, us]) => ({ fn, ms: Math.round(us / 1000), share: Math.round((us / totalUs) * 1000) / 10 }));
  return { totalMs: Math.round(totalUs / 1000), top };
}

export function formatTop(file: string, count?: number): string {
  const { totalMs, top } = topSelfTime(file, count);
  return [`${file}: ${totalMs} ms sampled`, ...top.map((t) => `${String(t.share).padStart(6)}% ${String(t.ms).padStart(7)} ms  ${t.fn}`)].join('\n');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(formatTop(process.argv[2]!, Number(process.argv[3] ?? 15)) + '\n');
}
