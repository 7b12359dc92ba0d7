// The benchmark in its small form: every point arrives and the report is complete. How fast it ran
// is the benchmark's business, not the test's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const distBench = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'bench');

test('npm run bench --quick: 100,000 points per scenario, none lost, a complete report', async () => {
  const child = spawn(process.execPath, [join(distBench, 'run.js'), '--quick'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0, out);
  // The bench shares the harness with the tests, not the test runner: no TAP output of its own.
  assert.doesNotMatch(out, /TAP version/);
  const file = /JSON: (\S+)/.exec(out)?.[1];
  assert.ok(file, 'the report names its JSON file');
  const report = JSON.parse(readFileSync(file, 'utf8'));
  for (const scenario of ['endToEnd', 'relayBroadcast', 'relayHashRoute', 'relayHashRouteRules']) {
    const r = report[scenario].median;
    assert.equal(r.points, 100_000, scenario);
    assert.equal(r.lost, 0, `${scenario} lost points`);
    assert.ok(r.pointsPerSecond > 0, scenario);
    for (const p of Object.values(r.processes) as Array<{ peakRssMb: number; cpuSecondsPerMillion: number }>) {
      assert.ok(p.peakRssMb > 0 && p.cpuSecondsPerMillion >= 0, scenario);
    }
  }
  for (const [layout, run] of Object.entries(report.cluster as Record<string, { median: { lost: number; pointsPerSecond: number; processes: Record<string, unknown> } }>)) {
    assert.deepEqual([run.median.lost, run.median.pointsPerSecond > 0], [0, true], `cluster ${layout}`);
    assert.equal('haproxy' in run.median.processes, layout !== 'direct', `cluster ${layout}: HAProxy's CPU measured`);
  }
  for (const [names, all] of Object.entries(report.names as Record<string, Array<{ lost: number; metrics: Record<string, number> }>>)) {
    for (const r of all) {
      assert.equal(r.lost, 0, `${names} distinct names: lost points`);
      assert.ok(r.metrics['hits']! + r.metrics['misses']! > 0, `${names} distinct names: the name cache's counts read from /metrics`);
    }
  }
  for (const c of ['one', 'oneOfMany', 'hundredOfMany']) {
    const r = (report.keys as Record<string, { median: { lost: number; duplicates: number; reloadMs: number } }>)[c]!.median;
    assert.deepEqual([r.lost, r.duplicates, r.reloadMs > 0, report.keys.keyCheckNs[c] > 0], [0, 0, true, true], `keys ${c}`);
  }
  for (const [c, run] of Object.entries(report.destinations as Record<string, { median: { lost: number; duplicates: number; copiesArrived: number; copiesExpected: number } }>)) {
    const r = run.median;
    assert.deepEqual([r.lost, r.duplicates, r.copiesArrived], [0, 0, r.copiesExpected], `destinations ${c}: every copy counted`);
  }
  for (const [program, modes] of Object.entries(report.connections as Record<string, Record<string, Record<string, { median: { lost: number; duplicates: number } }>>>)) {
    for (const [mode, counts] of Object.entries(modes)) {
      assert.deepEqual(Object.keys(counts), ['8', '2000'], `connections: ${program}, ${mode}`);
      for (const [n, run] of Object.entries(counts)) assert.deepEqual([run.median.lost, run.median.duplicates], [0, 0], `connections: ${program}, ${mode}, ${n}`);
    }
  }
  const e = report.endToEnd.median;
  assert.ok(e.wireBytesPerPoint > 0 && e.compressionRatio > 1, 'compression figures');
  const l = report.latency.median;
  assert.equal(l.lost, 0);
  assert.ok(l.p50Ms > 0 && l.p99Ms >= l.p50Ms && l.maxMs >= l.p99Ms, 'latency percentiles');
  assert.ok(report.micro.length >= 5 && report.micro.every((m: { value: number }) => m.value > 0), 'micro benchmarks');
  for (const label of [
    'end to end',
    'latency at',
    'relay broadcast',
    'relay hash-route',
    'relay hash-route with rules',
    'relay hash-route, 5,000,000 distinct names',
    'cluster: HAProxy -> 3 gateways',
    'cluster: CPU per 1M, HAProxy vs direct',
    'keys: 100 sending of 10,000 in the store',
    'destinations: hash-route to 12, replication 2',
    'micro: framing',
    'connections: relay, trickle, 2,000',
    'connections: proxy, flat out, 2,000',
  ]) {
    assert.match(out, new RegExp(label), `table row ${label}`);
  }
});
