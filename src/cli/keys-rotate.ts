// polymur-keys create (with -expires), regen, rotate and retire: the commands that give a name its
// keys. A name holds up to two: `rotate` adds a new one beside the current one, which stays valid
// until `retire` (or -expire-old); so a proxy can be given the new key while the old one still works.
// Every change is a read-modify-write of the name's record (update-record.ts) that keeps what
// others wrote meanwhile (limits, allowed prefixes).
import type { FlagSpec } from '../config/flags.js';
import { hashedEntry } from '../keys/entry.js';
import { generateKey } from '../keys/generate.js';
import { formatRecord, keyLive, MAX_KEYS_PER_NAME, type KeyRecord, type StoredKey } from '../keys/record.js';
import type { KeyStore } from '../keys/store.js';
import { updateRecord } from '../keys/update-record.js';
import { expiryArg, newName, oneName, parseCommandArgs } from './keys-args.js';
import { Refused } from './keys-errors.js';

export interface KeysContext {
  /** As invoked: polymur-keys or pgw-key. */
  readonly program: string;
  readonly store: KeyStore;
  readonly now: () => number;
}

/** A command: its arguments after the program's flags, the command's name first; returns what it prints. */
export type KeysCommand = (ctx: KeysContext, args: readonly string[]) => Promise<string>;

const EXPIRES: FlagSpec = { name: 'expires', type: 'string', default: '', usage: 'The new key stops working at this ISO 8601 date or date-time' };
const EXPIRE_OLD: FlagSpec = {
  name: 'expire-old',
  type: 'duration',
  default: '0s',
  range: 'non-negative',
  usage: 'The old key stops working after this long (default: at retire)',
};

/** The new key's stored form (only its hash: the key itself is printed once and never kept). */
function newKey(ctx: KeysContext, expires: string): { key: string; stored: StoredKey } {
  const key = generateKey();
  const at = expires === '' ? undefined : expiryArg('expires', expires, ctx.now());
  return { key, stored: at === undefined ? { key: hashedEntry(key) } : { key: hashedEntry(key), expires: at } };
}

const expiryLine = (name: string, k: StoredKey): string => (k.expires === undefined ? '' : `The new key of ${name} expires at ${k.expires}\n`);

const doesNotExist = (name: string): Refused => new Refused(`Key ${name} doesn't exist`);

const create: KeysCommand = async (ctx, args) => {
  const { words, values } = parseCommandArgs(`${ctx.program} create`, [EXPIRES], args.slice(1));
  const name = newName(`${ctx.program} create`, words);
  const { key, stored } = newKey(ctx, String(values.expires));
  if (!(await ctx.store.put(name, formatRecord({ keys: [stored] }), 'absent'))) throw new Refused(`Key ${name} already exists`);
  return `Successfully registered ${name} with key ${key}\n${expiryLine(name, stored)}`;
};

/** One new key in place of every key the name had; its limits and allowed prefixes stay. */
const regen: KeysCommand = async (ctx, args) => {
  const { words, values } = parseCommandArgs(`${ctx.program} regen`, [EXPIRES], args.slice(1));
  const name = oneName(`${ctx.program} regen`, words);
  const { key, stored } = newKey(ctx, String(values.expires));
  await updateRecord(ctx.store, name, (current) => {
    if (current === undefined) throw doesNotExist(name);
    return { ...current, keys: [stored] };
  });
  return `Successfully regenerated ${name} with key ${key}\n${expiryLine(name, stored)}`;
};

/** The key made to expire `afterMs` from now, or sooner if it already would. */
function expiringAfter(key: StoredKey, nowMs: number, afterMs: number): StoredKey {
  const at = nowMs + afterMs;
  if (key.expires !== undefined && Date.parse(key.expires) <= at) return key;
  return { key: key.key, expires: new Date(at).toISOString() };
}

const rotate: KeysCommand = async (ctx, args) => {
  const command = `${ctx.program} rotate`;
  const { words, values } = parseCommandArgs(command, [EXPIRES, EXPIRE_OLD], args.slice(1));
  const name = oneName(command, words);
  const expireOldMs = Number(values['expire-old']);
  const { key, stored } = newKey(ctx, String(values.expires));
  const nowMs = ctx.now();
  const { before, after } = await updateRecord(ctx.store, name, (current) => {
    if (current === undefined) throw doesNotExist(name);
    // An expired key authenticates nothing: it makes no room for a rotation's old key.
    const live = current.keys.filter((k) => keyLive(k, nowMs));
    if (live.length >= MAX_KEYS_PER_NAME) {
      throw new Refused(`${name} holds ${live.length} keys already (a rotation in progress): retire the old one first (${ctx.program} retire ${name})`);
    }
    const old = expireOldMs > 0 ? live.map((k) => expiringAfter(k, nowMs, expireOldMs)) : live;
    return { ...current, keys: [...old, stored] };
  });
  const dropped = (before?.keys.length ?? 0) - (after.keys.length - 1);
  // At most one old key is left: there was room for the new one.
  const oldKey = after.keys.length > 1 ? after.keys[0] : undefined;
  const oldLine =
    oldKey === undefined
      ? `${name} had no valid key left: the new key is its only one\n`
      : `The old key stays valid until ${oldKey.expires === undefined ? '' : `${oldKey.expires} or `}${ctx.program} retire ${name}\n`;
  return `Successfully rotated ${name} with key ${key}\n${expiryLine(name, stored)}${oldLine}${dropped > 0 ? `Removed ${dropped} expired key${dropped === 1 ? '' : 's'} of ${name}\n` : ''}`;
};

/** Keeps only the newest key: the end of a rotation. */
const retire: KeysCommand = async (ctx, args) => {
  const command = `${ctx.program} retire`;
  const name = oneName(command, parseCommandArgs(command, [], args.slice(1)).words);
  await updateRecord(ctx.store, name, (current): KeyRecord => {
    if (current === undefined) throw doesNotExist(name);
    const newest = current.keys[current.keys.length - 1];
    if (newest === undefined || current.keys.length < 2) throw new Refused(`${name} has one key: nothing to retire (${ctx.program} rotate ${name} adds a new one)`);
    return { ...current, keys: [newest] };
  });
  return `Successfully retired the old key of ${name}\n`;
};

export const KEY_COMMANDS: Readonly<Record<string, KeysCommand>> = { create, regen, rotate, retire };
