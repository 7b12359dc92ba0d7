// The stat port's /tenants.json: every tracked key's usage (accounting.ts) beside the limits and
// prefixes its record holds, bounded by -max-tenant-series entries (plus "other"). polymur-keys
// usage reads it; the status page reuses it.
import type { KeyRecord, TenantLimits } from '../keys/record.js';
import type { TenantAccounting, TenantUsage } from './accounting.js';

export const TENANTS_PATH = '/tenants.json';

export interface TenantReport extends TenantUsage {
  readonly limits?: TenantLimits;
  readonly allow?: readonly string[];
}

export interface TenantsReport {
  readonly tracked: number;
  readonly maxTrackedKeys: number;
  readonly tenants: readonly TenantReport[];
}

export function tenantsReport(accounting: TenantAccounting, records: (name: string) => KeyRecord | undefined, nowMs = Date.now()): TenantsReport {
  return {
    tracked: accounting.tracked(),
    maxTrackedKeys: accounting.maxTrackedKeys,
    tenants: accounting.usage(nowMs).map((usage) => {
      const record = records(usage.key);
      return {
        ...usage,
        ...(record?.limits !== undefined ? { limits: record.limits } : {}),
        ...(record?.allow !== undefined ? { allow: record.allow } : {}),
      };
    }),
  };
}

/** A key's quotas and prefixes as the status page's keys table shows them; undefined when it has none. */
export function keyLimitsOf(record: KeyRecord | undefined): Readonly<Record<string, number | string>> | undefined {
  if (record === undefined) return undefined;
  const { pointsPerSecond, burst, maxNames } = record.limits ?? {};
  const shown = {
    ...(pointsPerSecond !== undefined ? { 'limit points/s': pointsPerSecond } : {}),
    ...(burst !== undefined ? { burst } : {}),
    ...(maxNames !== undefined ? { 'max names/h': maxNames } : {}),
    ...(record.allow !== undefined && record.allow.length > 0 ? { allowed: record.allow.join(' ') } : {}),
  };
  return Object.keys(shown).length > 0 ? shown : undefined;
}
