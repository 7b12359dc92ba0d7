// Stopping a peer a test or the bench started: SIGTERM, then wait for it to exit. A process that
// already exited (or was never started) is left as it is.
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

export async function terminate(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGTERM');
  await exited;
}
