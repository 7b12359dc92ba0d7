// A peer a test starts (carbon, etcd, HAProxy…) is killed with the programs when the test fails
// before stopping it, so a failed or timed-out test leaves nothing running on the machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { killRunningPrograms, spawnTracked } from '../../harness/programs.js';

test('a process started with spawnTracked is killed by killRunningPrograms', async (t) => {
  const peer = spawnTracked('/bin/sleep', ['600'], { stdio: 'ignore' });
  t.after(() => peer.kill('SIGKILL')); // when the kill under test failed
  await once(peer, 'spawn');
  const exited = once(peer, 'exit');
  killRunningPrograms();
  const deadline = new Promise<never>((_, reject) => setTimeout(() => reject(new Error('the peer still runs 5 s after killRunningPrograms')), 5000).unref());
  const [code, signal] = (await Promise.race([exited, deadline])) as [number | null, NodeJS.Signals | null];
  assert.deepEqual({ code, signal }, { code: null, signal: 'SIGKILL' });
});
