// The optional native addons (native/, built at install by scripts/build-native.mjs): the module
// that uses one loads it here, and falls back to JavaScript or node:zlib where it is not built.
import { createRequire } from 'node:module';

/** An addon's exports, or why it could not be loaded (for the start-up log). */
export type Addon<T> = { readonly exports: T } | { readonly error: string };

/** `path`: the addon's file below native/, as node-gyp builds it (from dist/src/). */
export function loadAddon<T>(path: string): Addon<T> {
  try {
    return { exports: createRequire(import.meta.url)(`../../native/${path}`) as T };
  } catch (err) {
    return { error: (err as Error).message.split('\n')[0]! };
  }
}
