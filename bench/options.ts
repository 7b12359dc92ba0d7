// The bench's command line, read once: how many runs, how many points, which scenarios, profiles.
//   node dist/bench/run.js [--quick] [--runs N] [--points N] [--only a,b] [--programs relay,proxy] [--cpu-prof DIR]
import { join } from 'node:path';

const args = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

export const quick = args.includes('--quick');
export const runs = Number(flag('--runs') ?? (quick ? 1 : 3));
/** Points of a burst: the throughput scenarios' load. */
export const burstPoints = Number(flag('--points') ?? (quick ? 100_000 : 5_000_000));
/** The load generator's connections in the scenarios that do not vary them. */
export const CONNECTIONS = 4;
const only = flag('--only')?.split(',');
export const wanted = (scenario: string): boolean => only === undefined || only.includes(scenario);
const programs = flag('--programs')?.split(',');
/** Whether a scenario that measures several programs (connections: relay, proxy) measures `program`. */
export const wantedProgram = (program: string): boolean => programs === undefined || programs.includes(program);
export const cpuProfDir = flag('--cpu-prof');
/** Node's own arguments for a process: with --cpu-prof, its profile goes to DIR/<process> at exit. */
export const nodeArgs = (program: string): string[] => (cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${join(cpuProfDir, program)}`] : []);
