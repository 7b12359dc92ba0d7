// `polymur-keys import FILE`: the keys of the Go original's Consul store, from the JSON that
// `consul kv export polymur/gateway/keys/` writes ([{"key":"polymur/gateway/keys/NAME","flags":0,
// "value":"<base64>"}, ...]), into whichever store -key-store names. A plaintext key is stored as
// its hash (entry.ts): it keeps working, and the store no longer hands it out. A value that is
// already one of ours (`sha256:…` or a JSON record) is kept as it is. Nothing is written unless
// every entry under the prefix is usable and, without -overwrite, no name exists already.
import { readFileSync } from 'node:fs';
import type { FlagSpec } from '../config/flags.js';
import { hashedEntry } from '../keys/entry.js';
import { parseRecord } from '../keys/record.js';
import { DEFAULT_KEY_PREFIX, KeyStoreMissing, type KeyStore } from '../keys/store.js';
import { parseCommandArgs } from './keys-args.js';
import { Refused, UsageError } from './keys-errors.js';
import type { KeysCommand } from './keys-rotate.js';

const FLAGS: FlagSpec[] = [
  { name: 'overwrite', type: 'bool', default: false, usage: 'Replace the keys of names that exist already' },
  { name: 'prefix', type: 'string', default: DEFAULT_KEY_PREFIX, usage: 'The Consul folder the export was made of' },
];

/** What an import found in the export file. */
interface ExportContent {
  /** name -> the value to store. */
  readonly entries: Map<string, string>;
  /** Consul keys outside the prefix, left alone. */
  readonly outside: string[];
  /** Entries under the prefix that cannot be imported, and why. */
  readonly unusable: string[];
}

/** A Consul value made a store entry: a plaintext key is hashed, one of ours kept; or why it cannot be. */
function entryOf(value: string): { entry: string } | { unusable: string } {
  const parsed = parseRecord(value);
  if ('unusable' in parsed) return parsed;
  if (value.startsWith('sha256:') || value.startsWith('{')) return { entry: value };
  // An HTTP header carries no line break, and its surrounding blanks are trimmed: such a key never matched.
  if (/[\s\x00-\x1f\x7f]/.test(value)) return { unusable: 'the key holds white space or control characters: no proxy can send it' };
  return { entry: hashedEntry(value) };
}

function readExport(path: string, prefix: string): ExportContent {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Refused(`cannot read ${path}: ${(err as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Refused(`${path} is not valid JSON (${(err as Error).message}); expected the output of consul kv export ${prefix}`);
  }
  if (!Array.isArray(raw)) throw new Refused(`${path} must hold a JSON array of {"key": ..., "value": ...} (consul kv export ${prefix})`);
  const entries = new Map<string, string>();
  const outside: string[] = [];
  const unusable: string[] = [];
  raw.forEach((item: unknown, i) => {
    const { key, value } = (typeof item === 'object' && item !== null ? item : {}) as Record<string, unknown>;
    if (typeof key !== 'string') return void unusable.push(`entry ${i + 1} has no "key"`);
    if (!key.startsWith(prefix) || key === prefix) return void outside.push(key);
    const name = key.slice(prefix.length);
    if (typeof value !== 'string') return void unusable.push(`${name}: no base64 "value"`);
    const decoded = Buffer.from(value, 'base64');
    if (decoded.toString('base64') !== value.replace(/\s/g, '')) return void unusable.push(`${name}: the value is not base64`);
    const e = entryOf(decoded.toString('utf8'));
    if ('unusable' in e) return void unusable.push(`${name}: ${e.unusable}`);
    if (entries.has(name)) return void unusable.push(`${name}: listed twice`);
    entries.set(name, e.entry);
  });
  return { entries, outside, unusable };
}

/** The entries put one by one, in order; the names written. */
async function putEach(store: KeyStore, entries: ReadonlyMap<string, string>, only: 'absent' | undefined): Promise<Set<string>> {
  const written = new Set<string>();
  for (const [name, entry] of entries) if (await store.put(name, entry, only)) written.add(name);
  return written;
}

export const importKeys: KeysCommand = async (ctx, args) => {
  const command = `${ctx.program} import`;
  const { words, values } = parseCommandArgs(command, FLAGS, args.slice(1));
  const path = words[0];
  if (path === undefined || words.length > 1) throw new UsageError(`${command} takes one FILE (the output of consul kv export ${DEFAULT_KEY_PREFIX})`);
  const prefix = String(values.prefix).endsWith('/') ? String(values.prefix) : `${String(values.prefix)}/`;
  const overwrite = values.overwrite === true;
  const found = readExport(path, prefix);
  if (found.unusable.length > 0) throw new Refused(`${path}: nothing imported, ${found.unusable.length} entries cannot be: ${found.unusable.join('; ')}`);
  const existing = await ctx.store.list().catch((err: unknown) => {
    if (err instanceof KeyStoreMissing) return new Map<string, string>(); // the import creates it
    throw err;
  });
  const taken = [...found.entries.keys()].filter((name) => existing.has(name)).sort();
  if (taken.length > 0 && !overwrite) {
    throw new Refused(`nothing imported: ${taken.length} names exist already in ${ctx.store.description} (${taken.join(', ')}); give -overwrite to replace their keys`);
  }
  const lines: string[] = [];
  const lost: string[] = [];
  const sorted = new Map([...found.entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  // Without -overwrite, a name created meanwhile by someone else is not replaced either. A file
  // store takes them in one write (one per entry rewrote the whole file each time: 10,000 keys took minutes).
  const only = overwrite ? undefined : 'absent';
  const written = ctx.store.putAll ? await ctx.store.putAll(sorted, only) : await putEach(ctx.store, sorted, only);
  for (const name of sorted.keys()) {
    if (written.has(name)) lines.push(`Imported ${name}${existing.has(name) ? ' (replaced)' : ''}\n`);
    else lost.push(name);
  }
  const skipped = found.outside.length === 0 ? '' : `; skipped ${found.outside.length} entries outside ${prefix}: ${found.outside.join(', ')}`;
  lines.push(`Imported ${lines.length} of ${found.entries.size} keys from ${path} into ${ctx.store.description}${skipped}\n`);
  if (lost.length > 0) throw new Refused(`${lines.join('')}not imported, created meanwhile by another writer: ${lost.join(', ')}`);
  return lines.join('');
};
