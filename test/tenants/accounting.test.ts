// Per-key accounting bounded in series and memory: past maxTrackedKeys every key is summed under
// key="other" (the series and sketches stop growing with the number of keys), and what one tracked
// key costs in memory, measured (the figure the README gives).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createTenantAccounting, OTHER_KEYS } from '../../src/tenants/accounting.js';
import { Registry } from '../../src/observe/metrics.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap and array buffers in use after a full collection. */
function used(): number {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/** What a gateway does for one batch of a key. */
function traffic(accounting: ReturnType<typeof createTenantAccounting>, name: string, at: number): void {
  const entry = accounting.entry(name);
  entry.sketch.roll(at);
  entry.sketch.add(name.length * 2654435761);
  entry.request(200);
  entry.bytes(100, 400);
  entry.accepted(10);
}

test('past maxTrackedKeys keys are summed under "other"; a tracked key costs a few KiB', () => {
  const registry = new Registry();
  const max = 2000;
  const accounting = createTenantAccounting({ metrics: registry, maxTrackedKeys: max, now: () => 0 });
  const before = used();
  for (let i = 0; i < max; i++) traffic(accounting, `tenant-${i}`, 0);
  const perKey = (used() - before) / max;
  for (let i = max; i < 3 * max; i++) traffic(accounting, `tenant-${i}`, 0);
  const text = registry.render();
  const keys = new Set([...text.matchAll(/key="([^"]+)"/g)].map((m) => m[1]));
  assert.equal(keys.size, max + 1, 'the tracked keys and "other"');
  assert.ok(keys.has(OTHER_KEYS));
  assert.match(text, new RegExp(`^polymur_points_received_total\\{key="other"\\} ${10 * 2 * max}$`, 'm'));
  assert.equal(accounting.tracked(), max);
  const usage = accounting.usage(0);
  assert.equal(usage.length, max + 1);
  assert.equal(usage.at(-1)!.key, OTHER_KEYS);
  assert.equal(usage.at(-1)!.requests['200'], 2 * max);
  process.stdout.write(`# accounting: ${Math.round(perKey)} bytes per tracked key (series, labels and a 2.5 KiB names sketch), ${max} tracked, ${2 * max} more under "other"\n`);
  assert.ok(perKey < 32 * 1024, `${perKey} bytes per tracked key`);
});
