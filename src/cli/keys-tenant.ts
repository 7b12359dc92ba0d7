// polymur-keys limit, allow, disallow and usage: what a tenant may send (its rate, its names
// ceiling, its namespace), kept in its record beside its keys, and what it did send, read from a
// gateway's stat port (/tenants.json). Every change is a read-modify-write of the record
// (update-record.ts), so a concurrent rotate or another limit is kept.
import type { FlagSpec } from '../config/flags.js';
import type { KeyRecord, TenantLimits } from '../keys/record.js';
import { updateRecord } from '../keys/update-record.js';
import { REJECT_REASONS } from '../tenants/accounting.js';
import { TENANTS_PATH, type TenantsReport } from '../tenants/report.js';
import { oneName, parseCommandArgs } from './keys-args.js';
import { Refused, UsageError } from './keys-errors.js';
import type { KeysCommand } from './keys-rotate.js';

const LIMIT_FLAGS: readonly FlagSpec[] = [
  { name: 'points-per-second', type: 'string', default: '', usage: 'Sustained data points per second (0 removes the limit)' },
  { name: 'burst', type: 'string', default: '', usage: 'Points the key may send at once above its rate (default: one second of it; 0 removes it)' },
  { name: 'max-names', type: 'string', default: '', usage: 'Distinct metric names per hour; new names past it are dropped (0 removes the limit)' },
];
const LIMIT_FIELDS = { 'points-per-second': 'pointsPerSecond', burst: 'burst', 'max-names': 'maxNames' } as const;

/** A metric-name prefix: what a Graphite name may hold, no blank, no `/`. */
const VALID_PREFIX = /^[^\s/\p{Cc}]+$/u;

const doesNotExist = (name: string): Refused => new Refused(`Key ${name} doesn't exist`);

/** The record of an existing name, changed by `change`. */
const existing =
  (name: string, change: (current: KeyRecord) => KeyRecord) =>
  (current: KeyRecord | undefined): KeyRecord => {
    if (current === undefined) throw doesNotExist(name);
    return change(current);
  };

function describeLimits(limits: TenantLimits | undefined): string {
  if (limits === undefined || Object.keys(limits).length === 0) return 'no limits';
  const rate = limits.pointsPerSecond === undefined ? [] : [`${limits.pointsPerSecond} points/s, burst ${limits.burst ?? limits.pointsPerSecond}`];
  return [...rate, ...(limits.maxNames === undefined ? [] : [`${limits.maxNames} names/hour`])].join(', ');
}

const limit: KeysCommand = async (ctx, args) => {
  const command = `${ctx.program} limit`;
  const { words, values } = parseCommandArgs(command, LIMIT_FLAGS, args.slice(1));
  const name = oneName(command, words);
  const given: Partial<Record<(typeof LIMIT_FIELDS)[keyof typeof LIMIT_FIELDS], number>> = {};
  for (const [flag, field] of Object.entries(LIMIT_FIELDS)) {
    const text = String(values[flag]);
    if (text === '') continue;
    const n = Number(text);
    if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(n)) throw new UsageError(`invalid value "${text}" for flag -${flag}: give a number (0 removes the limit)`);
    given[field] = n;
  }
  if (Object.keys(given).length === 0) throw new UsageError(`${command} NAME needs -points-per-second, -burst or -max-names`);
  const { after } = await updateRecord(
    ctx.store,
    name,
    existing(name, (current) => {
      const limits: Record<string, number> = { ...current.limits };
      for (const [field, n] of Object.entries(given)) {
        if (n === 0) delete limits[field];
        else limits[field] = n;
      }
      return { ...current, limits };
    }),
  );
  return `Limits of ${name}: ${describeLimits(after.limits)}\n`;
};

const allow: KeysCommand = async (ctx, args) => {
  const command = `${ctx.program} allow`;
  const [name, ...prefixes] = parseCommandArgs(command, [], args.slice(1)).words;
  if (name === undefined || prefixes.length === 0) throw new UsageError(`${command} takes NAME PREFIX...`);
  for (const p of prefixes) if (!VALID_PREFIX.test(p)) throw new UsageError(`invalid prefix "${p}": a metric-name prefix holds no blank, control character or '/'`);
  const { after } = await updateRecord(
    ctx.store,
    name,
    existing(name, (current) => ({ ...current, allow: [...new Set([...(current.allow ?? []), ...prefixes])] })),
  );
  return `${name} may write names starting with: ${(after.allow ?? []).join(' ')}\n`;
};

const disallow: KeysCommand = async (ctx, args) => {
  const command = `${ctx.program} disallow`;
  const words = parseCommandArgs(command, [], args.slice(1)).words;
  const [name, prefix] = words;
  if (name === undefined || prefix === undefined || words.length !== 2) throw new UsageError(`${command} takes NAME PREFIX`);
  const { after } = await updateRecord(
    ctx.store,
    name,
    existing(name, (current) => {
      if (!(current.allow ?? []).includes(prefix)) throw new Refused(`${name} has no allowed prefix "${prefix}" (it has: ${(current.allow ?? []).join(' ') || 'none'})`);
      return { ...current, allow: (current.allow ?? []).filter((p) => p !== prefix) };
    }),
  );
  const left = after.allow ?? [];
  // The record's rule: no allowed prefix at all means every name.
  return left.length > 0 ? `${name} may write names starting with: ${left.join(' ')}\n` : `${name} has no allowed prefix left: it may write every name again\n`;
};

const USAGE_FLAGS: readonly FlagSpec[] = [
  { name: 'stat-addr', type: 'string', default: 'localhost:2020', usage: "The gateway's -stat-addr" },
  { name: 'timeout', type: 'duration', default: '10s', range: 'positive', usage: 'How long to wait for the gateway' },
];

/** Columns of `usage`: a title and how a row's cell is made. */
const COLUMNS: ReadonlyArray<readonly [string, (t: TenantsReport['tenants'][number]) => string]> = [
  ['KEY', (t) => t.key],
  ['ACCEPTED', (t) => String(t.pointsAccepted)],
  ...REJECT_REASONS.filter((r) => r === 'rate' || r === 'namespace' || r === 'name_quota').map(
    (r) => [r.toUpperCase(), (t: TenantsReport['tenants'][number]) => String(t.pointsRejected[r])] as const,
  ),
  ['INVALID', (t) => String(REJECT_REASONS.filter((r) => r !== 'rate' && r !== 'namespace' && r !== 'name_quota').reduce((sum, r) => sum + t.pointsRejected[r], 0))],
  ['BYTES', (t) => String(t.bytesCompressed)],
  ['RAW_BYTES', (t) => String(t.bytesRaw)],
  [
    'REQUESTS',
    (t) =>
      Object.entries(t.requests)
        .filter(([, n]) => n > 0)
        .map(([code, n]) => `${code}:${n}`)
        .join(',') || '-',
  ],
  ['NAMES/H', (t) => String(t.namesLastHour)],
  ['LIMITS', (t) => [describeLimits(t.limits), ...(t.allow ? [`allow ${t.allow.join(' ')}`] : [])].join('; ')],
];

/** Rows padded to their widest cell, the last column left ragged. */
function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map(
      (r) =>
        r
          .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
          .join('  ')
          .trimEnd() + '\n',
    )
    .join('');
}

const usage: KeysCommand = async (ctx, args) => {
  const command = `${ctx.program} usage`;
  const { words, values } = parseCommandArgs(command, USAGE_FLAGS, args.slice(1));
  if (words.length > 0) throw new UsageError(`${command} takes no NAME: it lists every key the gateway tracks`);
  const url = `http://${String(values['stat-addr'])}${TENANTS_PATH}`;
  let report: TenantsReport;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(Number(values.timeout)) });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${(await res.text()).trim().slice(0, 200)}`);
    report = (await res.json()) as TenantsReport;
  } catch (err) {
    throw new Refused(`cannot read ${url}: ${(err as Error).message}`);
  }
  const rows = [COLUMNS.map(([title]) => title), ...report.tenants.map((t) => COLUMNS.map(([, cell]) => cell(t)))];
  const note = report.tracked >= report.maxTrackedKeys ? `(${report.maxTrackedKeys} keys tracked, -max-tenant-series: later keys are summed under "other")\n` : '';
  return table(rows) + note;
};

export const TENANT_COMMANDS: Readonly<Record<string, KeysCommand>> = { limit, allow, disallow, usage };
