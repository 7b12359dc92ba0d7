// The metrics registry: a name registered twice is one family whose series are told apart by their
// labels (a gauge per destination's spool), never the first registration alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Registry } from '../../src/observe/metrics.js';

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (
  text: string,
) => Array<{ name: string; metrics: Array<{ labels?: Record<string, string>; value: string }> }>;

test('gauge collectors registered under one name with different labels render as one family with one series each', () => {
  const registry = new Registry();
  let a = 10;
  let b = 20;
  registry.gauge('polymur_spool_bytes', 'Bytes', () => a, { destination: 'a:1' });
  registry.gauge('polymur_spool_bytes', 'Bytes', () => b, { destination: 'b:2' });
  registry.gauge('polymur_queued', 'Queued', () => [[{ destination: 'x' }, 3]], { program: 'relay' });
  a = 11;
  b = 0;
  const text = registry.render();
  assert.equal(text.match(/^# TYPE polymur_spool_bytes gauge$/gm)?.length, 1, text);
  const families = new Map(parse(text).map((f) => [f.name, f]));
  assert.deepEqual(families.get('polymur_spool_bytes')!.metrics, [
    { labels: { destination: 'a:1' }, value: '11' },
    { labels: { destination: 'b:2' }, value: '0' },
  ]);
  assert.deepEqual(families.get('polymur_queued')!.metrics, [{ labels: { program: 'relay', destination: 'x' }, value: '3' }]);
});

test('a collector registered again under the same labels replaces the earlier one (a destination added back)', () => {
  const registry = new Registry();
  registry.gauge('polymur_spool_segments', 'Segments', () => 5, { destination: 'a:1' });
  registry.gauge('polymur_spool_segments', 'Segments', () => 1, { destination: 'a:1' });
  assert.match(registry.render(), /^polymur_spool_segments\{destination="a:1"\} 1$/m);
  assert.doesNotMatch(registry.render(), / 5$/m);
});

test('a counter registered twice is the same counter; one name with two kinds is refused', () => {
  const registry = new Registry();
  const first = registry.counter('polymur_points_dropped_total', 'Dropped');
  registry.counter('polymur_points_dropped_total', 'Dropped').inc(2, { reason: 'queue_full' });
  first.inc(1, { reason: 'destination_removed' });
  assert.equal(first.value({ reason: 'queue_full' }), 2);
  assert.throws(() => registry.gauge('polymur_points_dropped_total', 'Dropped'), /different kinds/);
});

test('every counter is rendered at 0 before its first event: unlabelled, each known label set, each declared one', () => {
  const registry = new Registry();
  registry.counter('polymur_auth_failures_total', 'Unknown keys');
  registry.counter('polymur_points_invalid_total', 'Invalid', [{ reason: 'fields' }, { reason: 'value' }]);
  const written = registry.counter('polymur_points_written_total', 'Written', []);
  written.declare({ destination: 'a:1' });
  registry.histogram('polymur_send_duration_seconds', 'Duration', [0.1, 1]);
  const families = new Map(parse(registry.render()).map((f) => [f.name, f]));
  assert.deepEqual(families.get('polymur_auth_failures_total')!.metrics, [{ value: '0' }]);
  assert.deepEqual(families.get('polymur_points_invalid_total')!.metrics, [
    { labels: { reason: 'fields' }, value: '0' },
    { labels: { reason: 'value' }, value: '0' },
  ]);
  assert.deepEqual(families.get('polymur_points_written_total')!.metrics, [{ labels: { destination: 'a:1' }, value: '0' }]);
  assert.match(registry.render(), /^polymur_send_duration_seconds_count 0$/m);
  assert.match(registry.render(), /^polymur_send_duration_seconds_bucket\{le="\+Inf"\} 0$/m);
});

test('a counter read at scrape time is typed counter (process_cpu_seconds_total)', () => {
  const registry = new Registry();
  let cpu = 1.5;
  registry.collectedCounter('process_cpu_seconds_total', 'CPU', () => cpu);
  cpu = 2.25;
  const text = registry.render();
  assert.match(text, /^# TYPE process_cpu_seconds_total counter$/m);
  assert.match(text, /^process_cpu_seconds_total 2\.25$/m);
});
