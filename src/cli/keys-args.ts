// A polymur-keys command's own arguments: its positional words and its flags, in any order
// (`rotate NAME -expire-old 24h` and `rotate -expire-old 24h NAME`), each flag with Go's syntax.
import { FlagError, parseFlags, type FlagSpec, type FlagValues } from '../config/flags.js';
import { UsageError } from './keys-errors.js';

export interface CommandArgs {
  readonly words: string[];
  readonly values: FlagValues;
}

/** Parses `argv` (after the command's name); a bad or unknown flag is a UsageError naming the command. */
export function parseCommandArgs(command: string, specs: readonly FlagSpec[], argv: readonly string[]): CommandArgs {
  const parse = (part: readonly string[]): ReturnType<typeof parseFlags> => {
    try {
      // No environment: these flags belong to one command, not to the program.
      return parseFlags(specs, part, {}, '');
    } catch (err) {
      if (!(err instanceof FlagError)) throw err;
      throw new UsageError(`${command}: ${err.message || 'help requested'}`);
    }
  };
  const defaults = parse([]).values;
  const values: FlagValues = { ...defaults };
  const words: string[] = [];
  for (let rest = argv; rest.length > 0;) {
    const parsed = parse(rest);
    // Each run of flags starts from the defaults: keep only what it set.
    for (const spec of specs) {
      const v = parsed.values[spec.name];
      if (v !== undefined && v !== defaults[spec.name]) values[spec.name] = v;
    }
    const [word, ...after] = parsed.args;
    if (word === undefined) break;
    words.push(word);
    rest = after;
  }
  return { words, values };
}

/**
 * New key names become metric prefixes with -key-prefix: one Graphite path segment. Only create
 * enforces it: regen and delete must reach names the original pgw-key allowed (any string).
 */
const VALID_NEW_NAME = /^[A-Za-z0-9_-]{1,128}$/;

/** The one NAME a command takes, as `PROGRAM COMMAND takes one NAME` says when it is missing. */
export function oneName(command: string, words: readonly string[]): string {
  const name = words[0];
  if (name === undefined || name === '' || words.length > 1) throw new UsageError(`${command} takes one NAME`);
  return name;
}

/** The NAME of a key being created: one Graphite path segment. */
export function newName(command: string, words: readonly string[]): string {
  const name = oneName(command, words);
  if (!VALID_NEW_NAME.test(name)) throw new UsageError(`invalid name "${name}": use letters, digits, '_' and '-' (it becomes a metric prefix)`);
  return name;
}

const ISO_DATE = /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * An expiry given as an ISO 8601 date (midnight UTC) or date-time (UTC unless it names its
 * offset), as the ISO string stored; a date that does not exist or is not after `nowMs` is a UsageError.
 */
export function expiryArg(flag: string, text: string, nowMs: number): string {
  const m = ISO_DATE.exec(text);
  const [year, month, day] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [NaN, NaN, NaN];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (!m || date.getUTCFullYear() !== year || date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) {
    throw new UsageError(`invalid value "${text}" for flag -${flag}: give an ISO 8601 date (2027-01-01) or date-time (2027-01-01T12:00:00Z)`);
  }
  const ms = Date.parse(text.includes('T') && m[4] === undefined ? `${text}Z` : text);
  if (!Number.isFinite(ms)) throw new UsageError(`invalid value "${text}" for flag -${flag}: not a time of day`);
  if (ms <= nowMs) throw new UsageError(`-${flag} ${text} is in the past (now is ${new Date(nowMs).toISOString()})`);
  return new Date(ms).toISOString();
}
