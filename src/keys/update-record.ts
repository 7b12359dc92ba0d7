// A read-modify-write of one name's record (rotate, retire, limit, allow...) that concurrent
// writers cannot undo: the record is read, changed, and written back only if the store still holds
// the value that was read (the store's conditional put: under the file lock for a file, a compare
// on the value in etcd's transaction, check-and-set in Consul). A write that lost is done again on
// what the other writer left, so both edits are kept.
import { setTimeout as sleep } from 'node:timers/promises';
import { formatRecord, parseRecord, type KeyRecord } from './record.js';
import type { ErrorCode } from '../errors.js';
import { KeyStoreError, type KeyStore } from './store.js';

/** Attempts before giving up: a write loses only to another write of the same name, which then succeeded. */
const MAX_ATTEMPTS = 50;
/** The pause after a lost write grows to this, with jitter, so that racing writers spread out. */
const MAX_PAUSE_MS = 50;

/** The stored value of the name cannot be read as a record: it is left as it is. */
export class UnusableRecord extends KeyStoreError {
  override readonly code: ErrorCode = 'POLYMUR_ERR_RECORD_UNUSABLE';
  constructor(
    readonly keyName: string,
    readonly why: string,
  ) {
    super(`the stored value of ${keyName} is unusable (${why}): fix or delete it first`);
  }
}

/** Other writers changed the name under every attempt. */
export class RecordConflict extends KeyStoreError {
  override readonly code: ErrorCode = 'POLYMUR_ERR_RECORD_CONFLICT';
  constructor(
    readonly keyName: string,
    readonly attempts: number,
  ) {
    super(`${keyName} was changed by another writer under each of ${attempts} attempts; try again`);
  }
}

/**
 * The new record of a name from its current one (undefined: the name does not exist). It may be
 * called more than once (once per attempt) and must not have side effects; throwing stops the
 * update and nothing is written.
 */
export type RecordChange = (current: KeyRecord | undefined) => KeyRecord;

export interface RecordUpdate {
  readonly before: KeyRecord | undefined;
  readonly after: KeyRecord;
}

/** Applies `change` to the record of `name` atomically; resolves with the record before and after. */
export async function updateRecord(store: KeyStore, name: string, change: RecordChange): Promise<RecordUpdate> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const value = await store.get(name);
    let before: KeyRecord | undefined;
    if (value !== undefined) {
      const parsed = parseRecord(value);
      if ('unusable' in parsed) throw new UnusableRecord(name, parsed.unusable);
      before = parsed.record;
    }
    const after = change(before);
    const written = formatRecord(after);
    if (written === value) return { before, after };
    if (await store.put(name, written, value === undefined ? 'absent' : { value })) return { before, after };
    await sleep(Math.random() * Math.min(MAX_PAUSE_MS, attempt * 5));
  }
  throw new RecordConflict(name, MAX_ATTEMPTS);
}
