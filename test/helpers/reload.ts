// SIGHUP to one of our programs, waiting for the reload it starts to finish.
import type { RunningProgram } from '../../harness/programs.js';
import { until } from './points.js';

const count = (text: string, what: string): number => text.split(what).length - 1;

/** Sends SIGHUP and resolves with the log lines of the reload it caused, once it is complete. */
export async function sighup(p: RunningProgram, timeoutMs = 10_000): Promise<string> {
  const before = count(p.stderr(), 'Received SIGHUP, reloading');
  p.proc.kill('SIGHUP');
  await until(`reload ${before + 1} complete`, () => count(p.stderr(), 'Reload complete') > before, timeoutMs);
  return p.stderr().split('Received SIGHUP, reloading')[before + 1]!.split('Reload complete')[0]!;
}
