// Per-key accounting at the gateway: points accepted and rejected (by reason), bytes, requests (by
// status) and distinct names in the last hour (name-sketch.ts), as Prometheus series labelled with
// the key's name and as the JSON of the stat port's /tenants.json. Bounded: the first
// maxTrackedKeys names seen get their own series and sketch, every later one is summed under
// key="other", so the number of series cannot grow with the number of keys.
import { INVALID_REASONS, type InvalidReason } from '../protocol/lines.js';
import type { Counter, Registry } from '../observe/metrics.js';
import { createNameSketch, type NameSketch } from './name-sketch.js';
import type { ScreenReason } from './screen.js';

/** Why a key's points were not accepted: the `reason` label of polymur_tenant_points_rejected_total. */
export type RejectReason = InvalidReason | ScreenReason | 'rate';
export const REJECT_REASONS: readonly RejectReason[] = [...INVALID_REASONS, 'rate', 'namespace', 'name_quota'];
/** The label of the keys past -max-tenant-series. */
export const OTHER_KEYS = 'other';
/** Status codes shown at 0 from a key's first request; others appear when first answered. */
const DECLARED_CODES = ['200', '429'];

export interface TenantUsage {
  readonly key: string;
  readonly batches: number;
  readonly pointsAccepted: number;
  readonly pointsRejected: Readonly<Record<RejectReason, number>>;
  readonly bytesCompressed: number;
  readonly bytesRaw: number;
  readonly requests: Readonly<Record<string, number>>;
  readonly namesLastHour: number;
}

export interface TenantAccounting {
  /** The entry a key is counted under: its own while tracked, else the one of "other". */
  entry(name: string): TenantEntry;
  /** Every tracked entry's figures at `nowMs`, "other" last. */
  usage(nowMs: number): TenantUsage[];
  /** Names with their own series. */
  tracked(): number;
  readonly maxTrackedKeys: number;
}

export interface TenantEntry {
  readonly label: string;
  readonly sketch: NameSketch;
  request(code: number): void;
  bytes(compressed: number, raw: number): void;
  accepted(points: number): void;
  rejected(reason: RejectReason, points: number): void;
}

export function createTenantAccounting(opts: { metrics: Registry; maxTrackedKeys: number; now?: () => number }): TenantAccounting {
  const now = opts.now ?? Date.now;
  const c = {
    batches: opts.metrics.counter('polymur_batches_received_total', 'Batches read from proxies and accepted, by key name', []),
    points: opts.metrics.counter('polymur_points_received_total', 'Valid data points read from clients (in accepted batches), by key name', []),
    rejected: opts.metrics.counter(
      'polymur_tenant_points_rejected_total',
      'Data points of a key not delivered, by key name and reason: invalid (fields, name, value, timestamp, too_long), rate (in batches answered 429; a batch retried counts again), namespace (outside its allowed prefixes), name_quota (new names over its ceiling)',
      [],
    ),
    bytes: opts.metrics.counter('polymur_tenant_bytes_received_total', 'Bytes of /ingest bodies of a key, as sent (compressed) and inflated (raw), by key name', []),
    requests: opts.metrics.counter('polymur_tenant_requests_total', '/ingest requests of a key, by key name and status code', []),
  };
  const entries = new Map<string, { entry: TenantEntry; codes: Set<string> }>();
  opts.metrics.gauge('polymur_tenant_names', 'Distinct metric names a key sent in the last hour (HyperLogLog estimate, about 5 % error), by key name', () =>
    [...entries.values()].map(({ entry }) => [{ key: entry.label }, entry.sketch.estimate(now())] as const),
  );
  opts.metrics.gauge('polymur_tenant_keys_tracked', 'Key names with their own per-key series (the rest are summed under key="other", -max-tenant-series)', () =>
    entries.has(OTHER_KEYS) ? entries.size - 1 : entries.size,
  );

  const count = (counter: Counter, by: number, labels: Record<string, string>): void => counter.inc(by, labels);
  const make = (label: string): { entry: TenantEntry; codes: Set<string> } => {
    const key = { key: label };
    const codes = new Set<string>(DECLARED_CODES);
    for (const reason of REJECT_REASONS) c.rejected.declare({ key: label, reason });
    for (const encoding of ['compressed', 'raw']) c.bytes.declare({ key: label, encoding });
    for (const code of DECLARED_CODES) c.requests.declare({ key: label, code });
    c.batches.declare(key);
    c.points.declare(key);
    const entry: TenantEntry = {
      label,
      sketch: createNameSketch(),
      request(code) {
        const text = String(code);
        codes.add(text);
        count(c.requests, 1, { key: label, code: text });
      },
      bytes(compressed, raw) {
        count(c.bytes, compressed, { key: label, encoding: 'compressed' });
        count(c.bytes, raw, { key: label, encoding: 'raw' });
      },
      accepted(points) {
        c.batches.inc(1, key);
        c.points.inc(points, key);
      },
      rejected(reason, points) {
        if (points > 0) count(c.rejected, points, { key: label, reason });
      },
    };
    return { entry, codes };
  };

  const tracked = (): number => (entries.has(OTHER_KEYS) ? entries.size - 1 : entries.size);
  const usageOf = ({ entry, codes }: { entry: TenantEntry; codes: Set<string> }, at: number): TenantUsage => {
    const key = entry.label;
    const rejected = Object.fromEntries(REJECT_REASONS.map((reason) => [reason, c.rejected.value({ key, reason })])) as Record<RejectReason, number>;
    return {
      key,
      batches: c.batches.value({ key }),
      pointsAccepted: c.points.value({ key }),
      pointsRejected: rejected,
      bytesCompressed: c.bytes.value({ key, encoding: 'compressed' }),
      bytesRaw: c.bytes.value({ key, encoding: 'raw' }),
      requests: Object.fromEntries([...codes].sort().map((code) => [code, c.requests.value({ key, code })])),
      namesLastHour: entry.sketch.estimate(at),
    };
  };

  return {
    maxTrackedKeys: opts.maxTrackedKeys,
    tracked,
    entry(name) {
      const known = entries.get(name);
      // A key actually named "other" shares the overflow's series (the README says so).
      if (known !== undefined) return known.entry;
      const label = tracked() < opts.maxTrackedKeys ? name : OTHER_KEYS;
      const made = entries.get(label) ?? make(label);
      entries.set(label, made);
      return made.entry;
    },
    usage(at) {
      const all = [...entries.values()].sort((a, b) => (a.entry.label === OTHER_KEYS ? 1 : b.entry.label === OTHER_KEYS ? -1 : a.entry.label < b.entry.label ? -1 : 1));
      return all.map((e) => usageOf(e, at));
    },
  };
}
