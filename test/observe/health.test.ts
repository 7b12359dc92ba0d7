// /healthz is liveness, measured: a blocked event loop is reported with the lag measured, a stale
// background loop by name; a process whose loops turn answers 200 with the figures.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHeartbeat } from '../../src/observe/heartbeat.js';
import { until } from '../helpers/points.js';
import { startRelay, type RelayProcess } from '../../harness/system.js';
import { startTcpSink } from '../helpers/tcp-sink.js';

interface HealthBody {
  status: string;
  reasons: string[];
  event_loop_lag_ms: number;
  loops: Record<string, number>;
}

test('heartbeat with an injected clock: an overdue tick and a silent loop are each reported, and clear', async () => {
  let t = 0;
  const beat = createHeartbeat({ maxLagMs: 1000, intervalMs: 10, now: () => t });
  try {
    beat.watch('refresh', 500);
    assert.deepEqual(beat.check(), { ok: true, eventLoopLagMs: 0, loops: { refresh: 0 }, reasons: [] });
    // Time passes with no tick (the loop is blocked): the overdue tick is seen at once.
    t = 3000;
    const blocked = beat.check();
    assert.equal(blocked.ok, false);
    assert.equal(blocked.eventLoopLagMs, 2990);
    assert.match(blocked.reasons.join(';'), /event loop lag 2990 ms is over 1000 ms/);
    assert.match(blocked.reasons.join(';'), /loop refresh made no progress for 3000 ms \(bound 500 ms\)/);
    // The loop beats and the ticks come on time again (the clock stands still between them): healthy.
    beat.beat('refresh');
    await until('ticks on time', () => beat.check().eventLoopLagMs === 0, 5000);
    assert.deepEqual(beat.check(), { ok: true, eventLoopLagMs: 0, loops: { refresh: 0 }, reasons: [] });
  } finally {
    beat.stop();
  }
});

test('a process whose event loop is blocked answers /healthz 503 with the lag measured, then 200 once it turns again', async () => {
  const fixture = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'blocking-loop.js');
  const child = spawn(process.execPath, [fixture], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  try {
    await until('the stat server', () => /Runstats started: \S+:(\d+)/.test(out), 10_000);
    const port = Number(/Runstats started: \S+:(\d+)/.exec(out)![1]);
    const healthz = async (): Promise<{ status: number; body: HealthBody }> => {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      return { status: res.status, body: (await res.json()) as HealthBody };
    };
    const before = await healthz();
    assert.equal(before.status, 200);
    assert.equal(before.body.status, 'ok');
    assert.ok(before.body.event_loop_lag_ms < 1000);

    child.stdin!.write('block 2500\n');
    await until('blocking', () => out.includes('blocking'), 10_000);
    // Asked while blocked: answered once the loop turns, with what the heartbeat measured.
    const during = await healthz();
    process.stdout.write(`# liveness: before ${before.body.event_loop_lag_ms} ms lag (200); while blocked ${during.body.event_loop_lag_ms} ms (${during.status})\n`);
    assert.ok(out.includes('unblocked'));
    assert.equal(during.status, 503);
    assert.equal(during.body.status, 'unhealthy');
    assert.ok(during.body.event_loop_lag_ms >= 1500 && during.body.event_loop_lag_ms <= 4000, `lag ${during.body.event_loop_lag_ms} ms`);
    assert.match(during.body.reasons[0]!, /^event loop lag \d+ ms is over 1000 ms$/);
    await until('healthy again', async () => (await healthz()).status === 200, 10_000);
  } finally {
    child.stdin!.end();
    if (child.exitCode === null) await once(child, 'exit');
  }
});

test('relay /healthz: 200 with the event loop lag and the rate loop figures, and polymur_event_loop_lag_seconds in /metrics', async () => {
  const sink = await startTcpSink();
  let relay: RelayProcess | undefined;
  try {
    relay = await startRelay(['-destinations', sink.address]);
    const res = await fetch(`http://127.0.0.1:${relay.statPort}/healthz`);
    const body = (await res.json()) as HealthBody;
    assert.equal(res.status, 200);
    assert.deepEqual(body.reasons, []);
    assert.equal(typeof body.event_loop_lag_ms, 'number');
    assert.ok(body.event_loop_lag_ms < 5000);
    assert.ok(body.loops['rate-reporter']! < 15_000);
    const metrics = await (await fetch(`http://127.0.0.1:${relay.statPort}/metrics`)).text();
    assert.match(metrics, /^polymur_event_loop_lag_seconds \d+(\.\d+)?$/m);
  } finally {
    await relay?.stop();
    await sink.close();
  }
});
