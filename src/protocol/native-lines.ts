// The per-line passes of the hot path done in C, one call per run of lines (native/lines/lines.c, built
// at install beside the ISA-L addon; it needs only a C compiler). Where it is not built, undefined:
// the callers do the same work in JavaScript, with the same results.
import { loadAddon } from '../native-addon.js';

export interface NativeLines {
  /**
   * The lines from `start` in the plain shape (`name value timestamp\n`, a printable ASCII name,
   * plain numbers, single spaces, at most maxLineBytes) as `count * 2^32 + stop`: `stop` is where
   * the first other line (or a last line without LF) starts. Every line counted is valid and needs
   * no change; the others are for filterLines' own reading.
   */
  plainRun(buf: Buffer, start: number, end: number, maxLineBytes: number): number;
  /**
   * Adds the name of each validated line of buf[start, end) (after `skip` bytes and any blanks, up
   * to a blank) to a names sketch's registers, hashed as tenants/name-hash.ts does; the lines.
   */
  sketchNames(buf: Buffer, start: number, end: number, skip: number, registers: Uint8Array): number;
}

function load(): NativeLines | undefined {
  // POLYMUR_NATIVE_LINES=0 runs the JavaScript forms (the tests compare the two).
  if (process.env.POLYMUR_NATIVE_LINES === '0') return undefined;
  const addon = loadAddon<NativeLines>('lines/build/Release/polymur_lines.node');
  return 'exports' in addon ? addon.exports : undefined;
}

export const nativeLines: NativeLines | undefined = load();

/** plainRun's answer taken apart. */
export const RUN_COUNT_UNIT = 2 ** 32;
