// Typed access to parsed flag values, validated once at start. A bad combination is a ConfigError:
// the program prints it and exits 2, as Go's flag package does for a bad value.
import { AddressError, parseHost, parseHostPort } from '../input/address.js';
import type { FlagValues } from './flags.js';
import { PolymurError, type ErrorCode } from '../errors.js';

export class ConfigError extends PolymurError {
  override readonly name = 'ConfigError';
  readonly code: ErrorCode = 'POLYMUR_ERR_CONFIG';
}

export class FlagReader {
  constructor(private readonly values: FlagValues) {}

  string(name: string): string {
    return String(this.values[name]);
  }

  bool(name: string): boolean {
    return this.values[name] === true;
  }

  /** Durations are parsed to milliseconds by the flag parser. */
  ms(name: string): number {
    return Number(this.values[name]);
  }

  int(name: string, min = -Infinity): number {
    const n = Number(this.values[name]);
    if (n < min) throw new ConfigError(`-${name} must be at least ${min}, got ${n}`);
    return n;
  }

  positiveMs(name: string): number {
    const ms = this.ms(name);
    if (!(ms > 0)) throw new ConfigError(`-${name} must be a positive duration, got ${this.values[name]}ms`);
    return ms;
  }

  oneOf<T extends string>(name: string, choices: readonly T[]): T {
    const v = this.string(name);
    if (!(choices as readonly string[]).includes(v)) {
      throw new ConfigError(`-${name} must be one of ${choices.join(', ')}; got "${v}"`);
    }
    return v as T;
  }

  /** A host:port address flag (`:2003`, `[::1]:2003`), checked here so a bad one stops the program before anything starts. */
  hostPort(name: string): string {
    const text = this.string(name);
    this.address(name, () => parseHostPort(text));
    return text;
  }

  /** A host-only address flag (`0.0.0.0`, `[::1]`, `::1`), returned without brackets, ready for listen(). */
  host(name: string): string {
    const text = this.string(name);
    return this.address(name, () => parseHost(text));
  }

  private address<T>(name: string, parse: () => T): T {
    try {
      return parse();
    } catch (err) {
      if (err instanceof AddressError) throw new ConfigError(`invalid value for flag -${name}: ${err.message}`);
      throw err;
    }
  }

  /** A comma-separated list, blanks removed. */
  list(name: string): string[] {
    return this.string(name).split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  }
}
