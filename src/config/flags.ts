// Go `flag` package semantics, so every command line that worked with the original works here:
// `-name value`, `-name=value`, `--name=value`, bare `-name` for booleans, `--` ends flags,
// the first non-flag argument ends flags. Every flag may also come from the environment
// (`<PREFIX>_<NAME>`, upper case, `-` -> `_`); the command line wins.
import { parseDuration } from './duration.js';
import { PolymurError } from '../errors.js';

export type FlagType = 'string' | 'int' | 'bool' | 'duration';

/**
 * The values a flag accepts beyond parsing, checked once when the flags are parsed: out of range
 * is exit 2 naming the flag, as a value that does not parse. For an int flag 'positive' is 1 or
 * more; for a duration, more than 0 ('non-negative' allows 0, which usually means "off"). 'port'
 * is 0-65535 (on a string flag: empty, or a port). `{ min, max }` bounds are in the flag's unit
 * (milliseconds for a duration).
 */
export type FlagRange = 'non-negative' | 'positive' | 'port' | { readonly min?: number; readonly max?: number };

interface FlagSpecBase {
  readonly name: string;
  readonly usage: string;
}

/**
 * One flag of a program's table. Default as Go would print it: a string, an int, a boolean, or a
 * duration string such as "1s". Every int and duration flag declares its range.
 */
export type FlagSpec =
  | (FlagSpecBase & { readonly type: 'string'; readonly default: string; readonly range?: 'port' })
  | (FlagSpecBase & { readonly type: 'bool'; readonly default: boolean })
  | (FlagSpecBase & { readonly type: 'int'; readonly default: number; readonly range: FlagRange })
  | (FlagSpecBase & { readonly type: 'duration'; readonly default: string; readonly range: FlagRange });

/** Parsed values: strings, numbers (ints), booleans, and durations in milliseconds. */
export type FlagValues = Record<string, string | number | boolean>;

export interface ParsedArgs {
  readonly values: FlagValues;
  /** Non-flag arguments after the flags (polymur-keys uses them as its command). */
  readonly args: string[];
}

export class FlagError extends PolymurError {
  readonly code = 'POLYMUR_ERR_FLAG';
  constructor(
    message: string,
    readonly exitCode: 0 | 2,
  ) {
    super(message);
  }
}

const BOOL_TRUE = new Set(['1', 't', 'T', 'true', 'TRUE', 'True']);
const BOOL_FALSE = new Set(['0', 'f', 'F', 'false', 'FALSE', 'False']);

function parseValue(spec: FlagSpec, raw: string): string | number | boolean | undefined {
  switch (spec.type) {
    case 'string':
      return raw;
    case 'bool':
      return BOOL_TRUE.has(raw) ? true : BOOL_FALSE.has(raw) ? false : undefined;
    case 'int': {
      // strconv.ParseInt(s, 0, 64): decimal, 0x hex, 0o/0 octal, 0b binary, '_' between digits.
      const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|[0-9][0-9_]*)$/.exec(raw);
      if (!m) return undefined;
      const sign = m[1] === '-' ? -1 : 1;
      let body = m[2]!.replace(/_/g, '');
      if (/^0[0-7]+$/.test(body)) body = '0o' + body.slice(1);
      const n = sign * Number(body);
      return Number.isSafeInteger(n) ? n : undefined;
    }
    case 'duration': {
      const ms = parseDuration(raw);
      return ms === undefined ? undefined : ms;
    }
  }
}

/** Why a parsed value is outside the flag's range (Go flag's wording after the colon), or undefined. */
export function rangeProblem(spec: FlagSpec, value: string | number | boolean): string | undefined {
  const range = 'range' in spec ? spec.range : undefined;
  if (range === undefined) return undefined;
  if (range === 'port') {
    const text = String(value);
    if (spec.type === 'string' && text === '') return undefined;
    return /^\d+$/.test(text) && Number(text) <= 65535 ? undefined : 'must be a port number (0-65535)';
  }
  const n = Number(value);
  if (range === 'non-negative') return n < 0 ? 'must not be negative' : undefined;
  if (range === 'positive') {
    if (spec.type === 'duration') return n > 0 ? undefined : 'must be positive';
    return n >= 1 ? undefined : 'must be at least 1';
  }
  const unit = spec.type === 'duration' ? 'ms' : '';
  if (range.min !== undefined && n < range.min) return `must be at least ${range.min}${unit}`;
  if (range.max !== undefined && n > range.max) return `must be at most ${range.max}${unit}`;
  return undefined;
}

/** The flag's range in words, for the README (scripts/flag-tables.mjs); undefined when it has none. */
export function describeRange(spec: FlagSpec): string | undefined {
  const range = 'range' in spec ? spec.range : undefined;
  if (range === undefined) return undefined;
  if (range === 'port') return spec.type === 'string' ? 'empty, or a port 0-65535' : 'a port 0-65535';
  if (range === 'non-negative') return '0 or more';
  if (range === 'positive') return spec.type === 'duration' ? 'more than 0' : '1 or more';
  const unit = spec.type === 'duration' ? 'ms' : '';
  if (range.min !== undefined && range.max !== undefined) return `${range.min}${unit}-${range.max}${unit}`;
  if (range.min !== undefined) return `${range.min}${unit} or more`;
  return range.max !== undefined ? `at most ${range.max}${unit}` : 'any';
}

/** The value of `raw` for the flag, or why it is not one: does not parse, or out of range. */
function convert(spec: FlagSpec, raw: string): { value: string | number | boolean } | { problem: string } {
  const value = parseValue(spec, raw);
  if (value === undefined) return { problem: 'parse error' };
  const problem = rangeProblem(spec, value);
  return problem === undefined ? { value } : { problem };
}

function defaultValue(spec: FlagSpec): string | number | boolean {
  if (spec.type === 'duration') return parseDuration(spec.default) ?? 0;
  return spec.default;
}

/** The text Go's flag.PrintDefaults prints, preceded by `Usage of PROGRAM:`. */
export function usage(program: string, specs: readonly FlagSpec[]): string {
  const lines = [`Usage of ${program}:`];
  for (const spec of [...specs].sort((a, b) => a.name.localeCompare(b.name))) {
    const typeName = spec.type === 'bool' ? '' : ` ${spec.type === 'duration' ? 'duration' : spec.type}`;
    let text = `  -${spec.name}${typeName}\n    \t${spec.usage}`;
    const isZero = spec.default === '' || spec.default === 0 || spec.default === false || spec.default === '0s';
    if (!isZero) text += spec.type === 'string' ? ` (default "${spec.default}")` : ` (default ${spec.default})`;
    lines.push(text);
  }
  return lines.join('\n') + '\n';
}

export function envName(prefix: string, flag: string): string {
  return `${prefix}_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/**
 * Parse argv (without node and script) against the flag table. Throws FlagError with exitCode 2
 * on an unknown flag or bad value, exitCode 0 for -h/-help.
 */
export function parseFlags(specs: readonly FlagSpec[], argv: readonly string[], env: NodeJS.ProcessEnv, envPrefix: string): ParsedArgs {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const values: FlagValues = {};
  for (const spec of specs) {
    values[spec.name] = defaultValue(spec);
    const fromEnv = env[envName(envPrefix, spec.name)];
    if (fromEnv !== undefined && fromEnv !== '') {
      const v = convert(spec, fromEnv);
      if ('problem' in v) {
        throw new FlagError(`invalid value "${fromEnv}" for environment variable ${envName(envPrefix, spec.name)} (flag -${spec.name}): ${v.problem}`, 2);
      }
      values[spec.name] = v.value;
    }
  }

  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg.length < 2 || arg[0] !== '-') break;
    let body = arg.slice(1);
    if (body[0] === '-') {
      body = body.slice(1);
      if (body.length === 0) {
        i++; // "--" terminates the flags
        break;
      }
    }
    if (body.length === 0 || body[0] === '-' || body[0] === '=') throw new FlagError(`bad flag syntax: ${arg}`, 2);
    const eq = body.indexOf('=');
    const name = eq === -1 ? body : body.slice(0, eq);
    const spec = byName.get(name);
    if (!spec) {
      if (name === 'h' || name === 'help') throw new FlagError('', 0);
      throw new FlagError(`flag provided but not defined: -${name}`, 2);
    }
    let raw: string;
    if (eq !== -1) raw = body.slice(eq + 1);
    else if (spec.type === 'bool') raw = 'true';
    else if (i + 1 < argv.length) raw = argv[++i]!;
    else throw new FlagError(`flag needs an argument: -${name}`, 2);
    const v = convert(spec, raw);
    if ('problem' in v) throw new FlagError(`invalid ${spec.type === 'bool' ? 'boolean ' : ''}value "${raw}" for flag -${name}: ${v.problem}`, 2);
    values[name] = v.value;
  }
  return { values, args: argv.slice(i) };
}

/** `-version`, which every program takes: it prints what the program is and exits 0. */
const VERSION_FLAG: FlagSpec = { name: 'version', type: 'bool', default: false, usage: 'Print the version and exit' };

export interface EntryOptions {
  /** The text -version prints. */
  readonly version: () => string;
  /**
   * Whether arguments may follow the flags (polymur-keys' commands). Elsewhere a leftover argument
   * is an error: `-console-out false` would otherwise end the flags at `false` and silently drop the rest.
   */
  readonly takesArguments?: boolean;
  readonly argv?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * parseFlags for a program's entry point: on error prints the message and usage to stderr and
 * exits as Go's flag.ExitOnError does (2 for errors, 0 for -h); -version prints and exits 0.
 */
export function parseFlagsOrExit(program: string, programSpecs: readonly FlagSpec[], envPrefix: string, opts: EntryOptions): ParsedArgs {
  const specs = [...programSpecs, VERSION_FLAG];
  try {
    const parsed = parseFlags(specs, opts.argv ?? process.argv.slice(2), opts.env ?? process.env, envPrefix);
    if (parsed.values.version === true) {
      process.stdout.write(opts.version() + '\n');
      process.exit(0);
    }
    const leftover = parsed.args[0];
    if (!opts.takesArguments && leftover !== undefined) {
      const hint = BOOL_TRUE.has(leftover) || BOOL_FALSE.has(leftover) ? ' (a boolean flag takes its value as -flag=value)' : '';
      throw new FlagError(`unexpected argument "${leftover}" after the flags${hint}`, 2);
    }
    return parsed;
  } catch (err) {
    if (!(err instanceof FlagError)) throw err;
    if (err.message) process.stderr.write(err.message + '\n');
    process.stderr.write(usage(program, specs));
    process.exit(err.exitCode);
  }
}
