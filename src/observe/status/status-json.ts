// GET /status.json: everything the status page shows, in one bounded document. Numbers come from
// the registry (the same series as /metrics) and the sampler's rates; keys are paged, so a gateway
// with 10,000 tenants answers with one page of them, sorted as asked.
import type { Labels, Registry, Sample } from '../metrics.js';
import type { Problem } from '../recent-problems.js';
import { SERIES, type History, type StatusSampler } from './history.js';

export const MAX_KEYS_PAGE = 200;
const DEFAULT_KEYS_PAGE = 50;

export interface QueueStatus {
  readonly labels: Labels;
  readonly points: number;
  readonly bytes: number;
  readonly limitPoints: number | null;
  readonly limitBytes: number | null;
}

export interface DestinationStatus {
  readonly destination: string;
  readonly state: 'up' | 'down' | 'stuck';
  readonly queuedPoints: number;
  readonly pointsPerSecond: number;
}

/** One tenant: its rate, and every per-key counter the gateway keeps (by metric name, summed over other labels). */
export interface KeyStatus {
  readonly key: string;
  readonly pointsPerSecond: number;
  readonly counters: Readonly<Record<string, number>>;
  /** What the program knows of the key besides its counters (the gateway: its quotas and allowed prefixes). */
  readonly limits?: KeyLimits;
}

/** A key's quotas as the page shows them: limit name -> value. */
export type KeyLimits = Readonly<Record<string, number | string>>;

export interface StatusDocument {
  readonly program: string;
  readonly version: string;
  readonly uptimeSeconds: number;
  readonly now: number;
  readonly history: History;
  /** Points in and out since start (the sums of the counters /metrics shows). */
  readonly totals: { readonly pointsIn: number; readonly pointsOut: number };
  readonly queues: readonly QueueStatus[];
  readonly destinations: readonly DestinationStatus[];
  readonly keys: { readonly total: number; readonly offset: number; readonly sort: KeySort; readonly rows: readonly KeyStatus[] };
  readonly problems: readonly Problem[];
}

export type KeySort = 'rate' | 'key';

export interface KeysQuery {
  readonly offset: number;
  readonly limit: number;
  readonly sort: KeySort;
  readonly filter: string;
}

/** ?keys_offset=&keys_limit=&keys_sort=rate|key&keys_filter=; anything out of range is brought in. */
export function keysQuery(params: URLSearchParams): KeysQuery {
  const int = (name: string, fallback: number): number => {
    const n = Number(params.get(name) ?? fallback);
    return Number.isInteger(n) && n >= 0 ? n : fallback;
  };
  return {
    offset: int('keys_offset', 0),
    limit: Math.min(Math.max(int('keys_limit', DEFAULT_KEYS_PAGE), 1), MAX_KEYS_PAGE),
    sort: params.get('keys_sort') === 'key' ? 'key' : 'rate',
    filter: (params.get('keys_filter') ?? '').slice(0, 200),
  };
}

const finite = (n: number): number | null => (Number.isFinite(n) ? n : null);

function labelOf(s: Sample, label: string): string | undefined {
  return s.labels?.[label];
}

function queues(registry: Registry): QueueStatus[] {
  const key = (labels: Labels | undefined): string => JSON.stringify(labels ?? {});
  const rows = new Map<string, { labels: Labels; points: number; bytes: number; limitPoints: number | null; limitBytes: number | null }>();
  const row = (labels: Labels | undefined) => {
    let r = rows.get(key(labels));
    if (!r) rows.set(key(labels), (r = { labels: labels ?? {}, points: 0, bytes: 0, limitPoints: null, limitBytes: null }));
    return r;
  };
  for (const s of registry.samplesOf('polymur_queue_points')) row(s.labels).points = s.value;
  for (const s of registry.samplesOf('polymur_queue_bytes')) row(s.labels).bytes = s.value;
  for (const s of registry.samplesOf('polymur_queue_capacity_points')) row(s.labels).limitPoints = finite(s.value);
  for (const s of registry.samplesOf('polymur_queue_capacity_bytes')) row(s.labels).limitBytes = finite(s.value);
  return [...rows.values()];
}

function destinations(registry: Registry, sampler: StatusSampler): DestinationStatus[] {
  const rates = sampler.rates(SERIES.pointsOut, 'destination');
  const stuck = sampler.stuck();
  const queued = new Map<string, number>();
  for (const s of registry.samplesOf(SERIES.queuePoints)) {
    const d = labelOf(s, 'destination');
    if (d !== undefined) queued.set(d, s.value);
  }
  const out: DestinationStatus[] = [];
  for (const s of registry.samplesOf(SERIES.destinationUp)) {
    const destination = labelOf(s, 'destination');
    if (destination === undefined) continue;
    out.push({
      destination,
      state: s.value !== 1 ? 'down' : stuck.has(destination) ? 'stuck' : 'up',
      queuedPoints: queued.get(destination) ?? 0,
      pointsPerSecond: Math.round(rates.get(destination) ?? 0),
    });
  }
  return out;
}

/** Every counter with a `key` label, per key: points received, invalid by reason, requests, ... */
function keys(registry: Registry, sampler: StatusSampler, query: KeysQuery, limitsOf?: (key: string) => KeyLimits | undefined): StatusDocument['keys'] {
  const rates = sampler.rates(SERIES.pointsIn, 'key');
  const byKey = new Map<string, Record<string, number>>();
  // The per-key families are whichever counters the program registered with a `key` label.
  for (const family of registry.familyNames()) {
    if (!family.endsWith('_total')) continue;
    for (const s of registry.samplesOf(family)) {
      const key = labelOf(s, 'key');
      if (key === undefined) continue;
      let counters = byKey.get(key);
      if (!counters) byKey.set(key, (counters = {}));
      counters[family] = (counters[family] ?? 0) + s.value;
    }
  }
  let names = [...byKey.keys()];
  if (query.filter !== '') names = names.filter((k) => k.includes(query.filter));
  names.sort(query.sort === 'key' ? (a, b) => (a < b ? -1 : a > b ? 1 : 0) : (a, b) => (rates.get(b) ?? 0) - (rates.get(a) ?? 0) || (a < b ? -1 : 1));
  const rows = names.slice(query.offset, query.offset + query.limit).map((key) => {
    const limits = limitsOf?.(key);
    return { key, pointsPerSecond: Math.round(rates.get(key) ?? 0), counters: byKey.get(key)!, ...(limits ? { limits } : {}) };
  });
  return { total: names.length, offset: query.offset, sort: query.sort, rows };
}

export function buildStatus(opts: {
  registry: Registry;
  sampler: StatusSampler;
  problems: () => readonly Problem[];
  startedAt: Date;
  query: KeysQuery;
  limitsOf?: ((key: string) => KeyLimits | undefined) | undefined;
  now?: number;
}): StatusDocument {
  const now = opts.now ?? Date.now();
  const build = opts.registry.samplesOf('polymur_build_info')[0]?.labels ?? {};
  return {
    program: build.program ?? 'polymur',
    version: build.version ?? '',
    uptimeSeconds: Math.round((now - opts.startedAt.getTime()) / 1000),
    now,
    history: opts.sampler.history(),
    totals: {
      pointsIn: opts.registry.samplesOf(SERIES.pointsIn).reduce((n, s) => n + s.value, 0),
      pointsOut: opts.registry.samplesOf(SERIES.pointsOut).reduce((n, s) => n + s.value, 0),
    },
    queues: queues(opts.registry),
    destinations: destinations(opts.registry, opts.sampler),
    keys: keys(opts.registry, opts.sampler, opts.query, opts.limitsOf),
    problems: opts.problems(),
  };
}
