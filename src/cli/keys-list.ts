// `polymur-keys list all`: every name with its keys. A name with one key and nothing else prints
// the original pgw-key's line, `NAME: KEY` (a plaintext key as the original stored it, or
// `sha256:<hash>` for one kept hashed); a name with more says it on the same line, so that each
// name is still one line starting `NAME: `:
//
//   alice: sha256:9f86… (hashed, expires 2027-01-01T00:00:00.000Z), sha256:60303… (hashed, newest); limits: 1000 points/s, burst 5000, 20000 names/hour; allow: site1. shared.site1.
import { formatRecord, parseRecord, type KeyRecord, type StoredKey, type TenantLimits } from '../keys/record.js';

function describeKey(key: StoredKey, newest: boolean): string {
  const notes = [key.key.startsWith('sha256:') ? 'hashed' : 'plaintext', ...(key.expires === undefined ? [] : [`expires ${key.expires}`]), ...(newest ? ['newest'] : [])];
  return `${key.key} (${notes.join(', ')})`;
}

function describeLimits(limits: TenantLimits): string {
  const parts = [
    limits.pointsPerSecond === undefined ? '' : `${limits.pointsPerSecond} points/s`,
    limits.burst === undefined ? '' : `burst ${limits.burst}`,
    limits.maxNames === undefined ? '' : `${limits.maxNames} names/hour`,
  ];
  return parts.filter((p) => p !== '').join(', ');
}

function describeRecord(record: KeyRecord): string {
  const keys = record.keys.map((k, i) => describeKey(k, record.keys.length > 1 && i === record.keys.length - 1)).join(', ');
  const limits = record.limits === undefined ? '' : describeLimits(record.limits);
  const allow = record.allow ?? [];
  return [keys, ...(limits === '' ? [] : [`limits: ${limits}`]), ...(allow.length === 0 ? [] : [`allow: ${allow.join(' ')}`])].join('; ');
}

/** One line per name, sorted by name. */
export function listAll(entries: ReadonlyMap<string, string>): string {
  return [...entries.keys()]
    .sort()
    .map((name) => {
      const value = entries.get(name)!;
      const parsed = parseRecord(value);
      if ('unusable' in parsed) return `${name}: ${value} (unusable: ${parsed.unusable})\n`;
      // The original's form stays the original's line.
      if (formatRecord(parsed.record) === value && !value.startsWith('{')) return `${name}: ${value}\n`;
      return `${name}: ${describeRecord(parsed.record)}\n`;
    })
    .join('');
}
