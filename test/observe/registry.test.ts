// The metrics registry: a name registered twice is one family whose series are told apart by their
// labels (a gauge per destination's spool), never the first registration alone.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { Registry } from '../../src/observe/metrics.js';

const parse = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Array<{ name: string; metrics: Array<{ labels?: Record<string, string>; value: string }> }>;

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
