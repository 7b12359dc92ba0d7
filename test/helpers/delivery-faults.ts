// What the delivery fault scenarios (faults/delivery, faults/gateway-outage) share: the load's
// shape, proxy settings that make faults show quickly, and the figures each one prints.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Delivery } from './points.js';

export const CONNECTIONS = 2;
/** Proxy settings that make faults show quickly: short request timeout, short backoff cap. */
export const FAST_RETRY = ['-timeout', '2s', '-max-retry-delay', '1s', '-flush-interval', '100ms', '-verbose=false'];

export function report(name: string, d: Delivery, rss: Record<string, number>): void {
  const rssText = Object.entries(rss)
    .map(([k, v]) => `${k} ${v} MB`)
    .join(', ');
  process.stdout.write(`# ${name}: sent ${d.sent}, arrived ${d.arrived}, distinct ${d.distinct}, missing ${d.missing}, duplicated ${d.duplicated}; peak RSS ${rssText}\n`);
}

export function spoolDir(): string {
  return mkdtempSync(join(tmpdir(), 'polymur-spool-'));
}
