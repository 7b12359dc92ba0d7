// SIGTERM while a destination is down: a writer with nothing left to write has no reason to wait
// for a connection, so the shutdown completes instead of reconnecting until -shutdown-timeout
// (it did: every gateway and relay whose carbon was gone took the whole 10 s to stop); one that
// still holds points keeps trying until the deadline and reports them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../../harness/free-port.js';
import type { RunningProgram } from '../../harness/programs.js';
import { startGateway, startRelay } from '../../harness/system.js';
import { sendText } from '../helpers/graphite-stream.js';
import { scrapeCounter, until } from '../helpers/points.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

/** Long enough that a shutdown waiting it out is told apart from one that completes. */
const SHUTDOWN = ['-shutdown-timeout', '30s'];

const lines = (n: number, name: string): string => Array.from({ length: n }, (_, i) => `${name}.m${i % 10} ${i} 1700000000\n`).join('');

async function assertCompletes(what: string, p: RunningProgram): Promise<void> {
  const exit = await p.stop('SIGTERM', 60_000);
  const log = p.stderr();
  process.stdout.write(`# ${what}: ${/Shutdown (complete|cut short)[^\n]*/.exec(log)?.[0] ?? 'no shutdown line'}\n`);
  assert.equal(exit.code, 0, log.slice(-2000));
  assert.match(log, /Shutdown: every data point received was delivered/);
  assert.match(log, /Shutdown complete after/, 'the shutdown does not wait out -shutdown-timeout for a destination that has nothing to receive');
  assert.doesNotMatch(log, /-shutdown-timeout of \S+ passed/);
}

test('SIGTERM with the only destination down and nothing queued: the relay and the gateway complete the shutdown', async () => {
  const nowhere = `127.0.0.1:${await freePort()}`;
  const relay = await startRelay([...SHUTDOWN, '-destinations', nowhere]);
  await relay.waitForLog(/Destination \S+ unreachable/);
  await assertCompletes('relay, destination refusing from the start', relay);

  const gateway = await startGateway({ args: ['-dev-mode', ...SHUTDOWN, '-destinations', nowhere] });
  await gateway.waitForLog(/Destination \S+ unreachable/);
  await assertCompletes('gateway, destination refusing from the start', gateway);
});

test('SIGTERM after the destination took every point and went away (no resend window): the relay completes the shutdown', async () => {
  const sink = await startTcpSink();
  const relay = await startRelay([...SHUTDOWN, '-resend-window', '0', '-flush-interval', '100ms', '-destinations', sink.address]);
  try {
    await sendText(relay.port, lines(1000, 'delivered'));
    await sink.waitForLines(1000);
    await sink.close();
    await relay.waitForLog(/Destination \S+ unreachable/);
    await assertCompletes('relay, destination gone after taking everything', relay);
  } finally {
    await relay.stop('SIGKILL');
  }
});

test('SIGTERM with the destination down and points queued: the relay keeps trying until -shutdown-timeout and reports every point it held', async () => {
  const relay = await startRelay(['-shutdown-timeout', '1s', '-flush-interval', '100ms', '-destinations', `127.0.0.1:${await freePort()}`]);
  try {
    await sendText(relay.port, lines(1000, 'held'));
    await until('the points queued for the destination', async () => (await scrapeCounter(relay.statPort, 'polymur_queue_points')) >= 1000);
    const exit = await relay.stop('SIGTERM', 60_000);
    const log = relay.stderr();
    process.stdout.write(`# relay, destination down with 1000 points queued: ${/Shutdown: \d+ data points[^\n]*/.exec(log)?.[0] ?? 'no count'}\n`);
    assert.equal(exit.code, 0);
    assert.match(log, /-shutdown-timeout of 1s passed/);
    assert.match(log, /Shutdown: 1000 data points could not be delivered before the shutdown timeout/);
  } finally {
    await relay.stop('SIGKILL');
  }
});
