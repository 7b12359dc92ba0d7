// What a key store holds for one name (a tenant). The original stored the key itself as the value,
// and a value that is one key (plaintext, or `sha256:…` from entry.ts) still means exactly that. A
// name with more — a second key during a rotation, an expiry, limits, allowed prefixes — is stored
// as JSON, so the store keeps one value per name and one write changes a tenant atomically:
//
//   {"keys":[{"key":"sha256:…","expires":"2027-01-01T00:00:00.000Z"},{"key":"sha256:…"}],
//    "limits":{"pointsPerSecond":1000,"burst":5000,"maxNames":20000},
//    "allow":["site1.","shared.site1."]}
//
// A record with one key, no expiry, no limits and no prefixes is written in the original's form, so
// stores stay readable by older gateways until an operator uses the new features.
import { entryDigest } from './entry.js';

/** One key of a name: its stored form (entry.ts) and when it stops authenticating. */
export interface StoredKey {
  readonly key: string;
  /** ISO 8601; absent: never. */
  readonly expires?: string;
}

/** Per-tenant limits; an absent field is no limit. */
export interface TenantLimits {
  /** Sustained points per second (a token bucket's rate). */
  readonly pointsPerSecond?: number;
  /** The bucket's size in points; absent: one second of pointsPerSecond. */
  readonly burst?: number;
  /** Distinct metric names per hour. */
  readonly maxNames?: number;
}

export interface KeyRecord {
  /** One or two keys (two while a rotation is in progress), oldest first. */
  readonly keys: readonly StoredKey[];
  readonly limits?: TenantLimits;
  /** Metric-name prefixes the tenant may write, matched on the name as sent (before -key-prefix); absent: all. */
  readonly allow?: readonly string[];
}

/** At most this many keys per name: the current one and the one being rotated out. */
export const MAX_KEYS_PER_NAME = 2;

const LIMIT_FIELDS = ['pointsPerSecond', 'burst', 'maxNames'] as const;

/** Reads a stored value, or says why it serves nothing. */
export function parseRecord(value: string): { record: KeyRecord } | { unusable: string } {
  if (!value.startsWith('{')) {
    const d = entryDigest(value);
    return 'digest' in d ? { record: { keys: [{ key: value }] } } : { unusable: d.unusable };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(value);
  } catch (err) {
    return { unusable: `not valid JSON: ${(err as Error).message}` };
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return { unusable: 'a JSON record must be an object' };
  const obj = raw as Record<string, unknown>;
  if (!Array.isArray(obj.keys) || obj.keys.length === 0 || obj.keys.length > MAX_KEYS_PER_NAME) {
    return { unusable: `"keys" must list 1 to ${MAX_KEYS_PER_NAME} keys` };
  }
  const keys: StoredKey[] = [];
  for (const k of obj.keys as unknown[]) {
    if (typeof k !== 'object' || k === null) return { unusable: 'each of "keys" must be an object with a "key"' };
    const { key, expires } = k as Record<string, unknown>;
    if (typeof key !== 'string') return { unusable: 'each of "keys" must have a string "key"' };
    const d = entryDigest(key);
    if ('unusable' in d) return { unusable: d.unusable };
    if (expires === undefined) keys.push({ key });
    else if (typeof expires === 'string' && Number.isFinite(Date.parse(expires))) keys.push({ key, expires });
    else return { unusable: `"expires" must be an ISO 8601 date, not ${JSON.stringify(expires)}` };
  }
  const record: { keys: StoredKey[]; limits?: TenantLimits; allow?: string[] } = { keys };
  if (obj.limits !== undefined) {
    if (typeof obj.limits !== 'object' || obj.limits === null) return { unusable: '"limits" must be an object' };
    const limits: Record<string, number> = {};
    for (const field of LIMIT_FIELDS) {
      const v = (obj.limits as Record<string, unknown>)[field];
      if (v === undefined) continue;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) return { unusable: `"limits.${field}" must be a positive number` };
      limits[field] = v;
    }
    record.limits = limits;
  }
  if (obj.allow !== undefined) {
    if (!Array.isArray(obj.allow) || !obj.allow.every((p) => typeof p === 'string' && p.length > 0)) {
      return { unusable: '"allow" must be a list of non-empty prefixes' };
    }
    record.allow = obj.allow as string[];
  }
  return { record };
}

/** The value to store: the original's form when nothing else is set, JSON otherwise. */
export function formatRecord(record: KeyRecord): string {
  const only = record.keys.length === 1 ? record.keys[0] : undefined;
  const limits = record.limits !== undefined && Object.keys(record.limits).length > 0 ? record.limits : undefined;
  const allow = record.allow !== undefined && record.allow.length > 0 ? record.allow : undefined;
  if (only !== undefined && only.expires === undefined && limits === undefined && allow === undefined) return only.key;
  return JSON.stringify({ keys: record.keys, ...(limits ? { limits } : {}), ...(allow ? { allow } : {}) });
}

/** Whether a stored key still authenticates at `nowMs`. */
export function keyLive(key: StoredKey, nowMs: number): boolean {
  return key.expires === undefined || Date.parse(key.expires) > nowMs;
}
