// Typed access to parsed flag values, validated once at start. A bad combination is a ConfigError:
// the program prints it and exits 2, as Go's flag package does for a bad value.
import { AddressError, parseHost, parseHostPort } from '../net/address.js';
import type { FlagSpec, FlagType, FlagValues } from './flags.js';
import { PolymurError, type ErrorCode } from '../errors.js';

export class ConfigError extends PolymurError {
  readonly code: ErrorCode = 'POLYMUR_ERR_CONFIG';
}

/** The names of the flags of one type among the flags S: a reader takes only these, so a misspelt name does not compile. */
export type FlagName<S extends FlagSpec, K extends FlagType> = Extract<S, { readonly type: K }>['name'];

/** The entries of a flag table declared `as const`. */
export type FlagsOf<T extends readonly FlagSpec[]> = T[number];

/**
 * The parsed values of the flags S (a table's entries, FlagsOf<typeof TABLE>), read by name and
 * type. Ranges were checked when the flags were parsed (flags.ts); what is checked here needs more
 * than a range (addresses, choices, combinations). Contravariant: a program's reader serves a
 * function that reads only some of its flags (the gateway's, for the routing flags it shares).
 */
export class FlagReader<in S extends FlagSpec> {
  constructor(private readonly values: FlagValues) {}

  /** A reader of `table`'s flags over values parsed with it. */
  static of<T extends readonly FlagSpec[]>(_table: T, values: FlagValues): FlagReader<FlagsOf<T>> {
    return new FlagReader<FlagsOf<T>>(values);
  }

  private value(name: string): string | number | boolean {
    const v = this.values[name];
    // Only a reader built on another table's values gets here: a misspelt name does not compile.
    if (v === undefined) throw new Error(`no flag -${name} in this program's table`);
    return v;
  }

  string(name: FlagName<S, 'string'>): string {
    return String(this.value(name));
  }

  bool(name: FlagName<S, 'bool'>): boolean {
    return this.value(name) === true;
  }

  /** Durations are parsed to milliseconds by the flag parser. */
  ms(name: FlagName<S, 'duration'>): number {
    return Number(this.value(name));
  }

  int(name: FlagName<S, 'int'>): number {
    return Number(this.value(name));
  }

  oneOf<C extends string>(name: FlagName<S, 'string'>, choices: readonly C[]): C {
    const v = this.string(name);
    if (!(choices as readonly string[]).includes(v)) {
      throw new ConfigError(`-${name} must be one of ${choices.join(', ')}; got "${v}"`);
    }
    return v as C;
  }

  /** A host:port address flag (`:2003`, `[::1]:2003`), checked here so a bad one stops the program before anything starts. */
  hostPort(name: FlagName<S, 'string'>): string {
    const text = this.string(name);
    this.address(name, () => parseHostPort(text));
    return text;
  }

  /** A host-only address flag (`0.0.0.0`, `[::1]`, `::1`), returned without brackets, ready for listen(). */
  host(name: FlagName<S, 'string'>): string {
    const text = this.string(name);
    return this.address(name, () => parseHost(text));
  }

  private address<R>(name: string, parse: () => R): R {
    try {
      return parse();
    } catch (err) {
      if (err instanceof AddressError) throw new ConfigError(`invalid value for flag -${name}: ${err.message}`);
      throw err;
    }
  }

  /** A comma-separated list, blanks removed. */
  list(name: FlagName<S, 'string'>): string[] {
    return this.string(name)
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }
}
