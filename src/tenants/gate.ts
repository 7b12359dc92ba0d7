// What the gateway asks about each batch of a key, once it is validated: which of its lines the key
// may write (namespace.ts, name-quota.ts, through screen.ts) and whether its rate allows the rest
// now (token-bucket.ts: the whole batch or none of it, refused with a Retry-After). The rules come
// from the key's record in the key store and follow it: a record changed there (a new limit, a
// prefix allowed) is used from the next batch after the key cache reloads.
import type { KeyRecord } from '../keys/record.js';
import { rateLimitedLog, type LogFn } from '../observe/log.js';
import type { TenantAccounting, TenantEntry } from './accounting.js';
import { createNameQuota, type NameQuota } from './name-quota.js';
import { createNamespace, type Namespace } from './namespace.js';
import { screenLines, type ScreenReason } from './screen.js';
import { createTokenBucket, type TokenBucket } from './token-bucket.js';

/** The longest Retry-After given: a client asks again then and gets the rest of the wait. */
export const MAX_RETRY_AFTER_SECONDS = 60;

export type Verdict =
  /** Over the rate: answer 429 with Retry-After, nothing of the batch taken. */
  | { readonly kind: 'throttled'; readonly retryAfterSeconds: number; readonly points: number }
  | {
      readonly kind: 'pass';
      readonly data: Buffer;
      readonly points: number;
      /** Points cut out by the namespace and the names ceiling, counted once the batch is delivered. */
      readonly namespace: number;
      readonly nameQuota: number;
    };

export interface TenantGate {
  readonly accounting: TenantAccounting;
  /** The accounting entry of a key (its own, or "other"). */
  entry(name: string): TenantEntry;
  /** Screens a key's validated batch; `skip` is the length of the -key-prefix on each line. */
  judge(name: string, data: Buffer, skip: number): Promise<Verdict>;
  /** The batch passed was taken by the destinations: its figures are counted. */
  delivered(name: string, verdict: Verdict & { kind: 'pass' }): void;
  /** The batch passed was refused by full destinations: the points it took from the rate go back. */
  undelivered(name: string, verdict: Verdict & { kind: 'pass' }): void;
}

/** The rules of one key, built from its record and rebuilt when the record changes. */
interface KeyRules {
  readonly record: KeyRecord;
  readonly bucket: TokenBucket | undefined;
  readonly quota: NameQuota | undefined;
  readonly namespace: Namespace | undefined;
}

export function createTenantGate(opts: {
  accounting: TenantAccounting;
  /** The key store's record of a name (KeyCache.record). */
  records: (name: string) => KeyRecord | undefined;
  log: LogFn;
  now?: () => number;
}): TenantGate {
  const now = opts.now ?? Date.now;
  const rules = new Map<string, KeyRules>();
  const dropLog = rateLimitedLog(opts.log);
  const throttleLog = rateLimitedLog(opts.log);

  /** The rules of a key now; undefined (and nothing kept) for a key without limits or prefixes. */
  const rulesOf = (name: string, at: number): KeyRules | undefined => {
    const record = opts.records(name);
    const old = rules.get(name);
    if (old !== undefined && old.record === record) return old;
    const limits = record?.limits;
    const allow = record?.allow;
    if (record === undefined || (limits?.pointsPerSecond === undefined && limits?.maxNames === undefined && allow === undefined)) {
      rules.delete(name);
      return undefined;
    }
    let bucket: TokenBucket | undefined;
    if (limits?.pointsPerSecond !== undefined) {
      const shape = { rate: limits.pointsPerSecond, burst: limits.burst ?? limits.pointsPerSecond };
      bucket = old?.bucket ?? createTokenBucket(shape, at);
      bucket.configure(shape, at);
    }
    const maxNames = limits?.maxNames;
    const quota = maxNames === undefined ? undefined : old?.quota?.maxNames === maxNames ? old.quota : createNameQuota(maxNames);
    const namespace = allow === undefined ? undefined : old?.namespace?.prefixes.join('\n') === allow.join('\n') ? old.namespace : createNamespace(allow);
    const made = { record, bucket, quota, namespace };
    rules.set(name, made);
    return made;
  };

  return {
    accounting: opts.accounting,
    entry: (name) => opts.accounting.entry(name),
    async judge(name, data, skip) {
      const at = now();
      const entry = opts.accounting.entry(name);
      const r = rulesOf(name, at);
      entry.sketch.roll(at);
      r?.quota?.roll(at);
      const examples: Partial<Record<ScreenReason, string>> = {};
      const screened = await screenLines(data, skip, {
        sketch: entry.sketch,
        namespace: r?.namespace,
        quota: r?.quota,
        onDrop: (line, reason) => {
          examples[reason] ??= line
            .subarray(skip, skip + 200)
            .toString('utf8')
            .split(/[ \t]/)[0]!;
        },
      });
      if (examples.namespace !== undefined) {
        dropLog(
          `${screened.namespace} data points from ${name} dropped: outside its allowed prefixes (${r?.namespace?.prefixes.join(', ')}), e.g. ${JSON.stringify(examples.namespace)}`,
        );
      }
      if (examples.name_quota !== undefined) {
        dropLog(
          `${screened.nameQuota} data points from ${name} dropped: new names over its ceiling of ${r?.quota?.maxNames} distinct metric names this hour, e.g. ${JSON.stringify(examples.name_quota)}`,
        );
      }
      const wait = r?.bucket === undefined || screened.points === 0 ? 0 : r.bucket.take(screened.points, now());
      if (wait > 0) {
        entry.rejected('rate', screened.points);
        const retryAfterSeconds = Math.min(MAX_RETRY_AFTER_SECONDS, Math.ceil(wait / 1000));
        throttleLog(
          `Batch of ${screened.points} data points from ${name} refused (429): over its rate of ${r?.record.limits?.pointsPerSecond} points/s, retry after ${retryAfterSeconds}s`,
        );
        return { kind: 'throttled', retryAfterSeconds, points: screened.points };
      }
      return { kind: 'pass', ...screened };
    },
    delivered(name, verdict) {
      const entry = opts.accounting.entry(name);
      entry.accepted(verdict.points);
      entry.rejected('namespace', verdict.namespace);
      entry.rejected('name_quota', verdict.nameQuota);
    },
    undelivered(name, verdict) {
      rules.get(name)?.bucket?.giveBack(verdict.points, now());
    },
  };
}
