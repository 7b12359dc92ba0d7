// The gateway's pass over a validated batch for its key: every name is hashed (for the names
// sketch and the names ceiling) and, when the key has allowed prefixes, compared with them. Lines
// the key may not write are cut out; when none is, the batch is handed on as it was (no copy).
// The lines are the validator's output: each ends in LF and holds three fields, so a name always
// ends at a blank. Large batches are screened in steps that yield, as validation is.
import { performance } from 'node:perf_hooks';
import { joinInSteps, nextTurn } from '../lifecycle/steps.js';
import { nativeLines, type NativeLines } from '../protocol/native-lines.js';
import { hashRange, hashView } from './name-hash.js';
import type { NameQuota } from './name-quota.js';
import { addTo, type NameSketch } from './name-sketch.js';
import type { Namespace } from './namespace.js';

export type ScreenReason = 'namespace' | 'name_quota';

export interface ScreenRules {
  readonly sketch: NameSketch;
  readonly namespace?: Namespace | undefined;
  readonly quota?: NameQuota | undefined;
  /** A line cut out, valid only during the call (the caller logs, rate-limited). */
  readonly onDrop: (line: Buffer, reason: ScreenReason) => void;
}

export interface Screened {
  readonly data: Buffer;
  readonly points: number;
  /** Points cut out, by reason. */
  readonly namespace: number;
  readonly nameQuota: number;
}

const LF = 0x0a;
const SPACE = 0x20;
const TAB = 0x09;
/** Lines screened between two looks at the clock. */
const LINES_PER_CHECK = 8192;
/** The longest one turn of the event loop screens before it lets other clients in. */
const TURN_MS = 2;
const indexOf = Buffer.prototype.indexOf;
/** Bytes the native sketch pass takes in one turn of the event loop: about a millisecond. */
const NATIVE_SLICE_BYTES = 2 * 1024 * 1024;

/** A key without rules only feeds its sketch: in C where the addon is built, a call per slice. */
async function sketchInC(native: NativeLines, data: Buffer, skip: number, registers: Uint8Array): Promise<Screened> {
  let points = 0;
  for (let start = 0; start < data.length;) {
    const nl = indexOf.call(data, LF, Math.min(start + NATIVE_SLICE_BYTES, data.length) - 1);
    const end = nl === -1 ? data.length : nl + 1;
    points += native.sketchNames(data, start, end, skip, registers);
    start = end;
    if (start < data.length) await nextTurn();
  }
  return { data, points, namespace: 0, nameQuota: 0 };
}

/**
 * Screens `data` (validated lines); `skip` bytes at the start of each line are the -key-prefix
 * the gateway added, left out of the name that is hashed and matched.
 */
export async function screenLines(data: Buffer, skip: number, rules: ScreenRules): Promise<Screened> {
  const { sketch, namespace, quota, onDrop } = rules;
  // A key without rules only feeds its sketch: one test a line, no call.
  const screened = namespace !== undefined || quota !== undefined;
  if (!screened && nativeLines !== undefined) return sketchInC(nativeLines, data, skip, sketch.current());
  const end = data.length;
  const pieces: Buffer[] = [];
  let runStart = 0;
  let points = 0;
  let outOfNamespace = 0;
  let overQuota = 0;
  let pos = 0;
  let turnStarted = performance.now();
  const view = hashView(data);
  const registers = sketch.current();
  // A name ends at a space, or in the rare batch that has one, at a tab.
  const hasTab = data.indexOf(TAB) !== -1;
  while (pos < end) {
    for (let n = 0; n < LINES_PER_CHECK && pos < end; n++) {
      let nameStart = pos + skip;
      // Leading blanks are kept on lines the validator left unchanged (no -key-prefix).
      while (nameStart < end && (data[nameStart] === SPACE || data[nameStart] === TAB)) nameStart++;
      let nameEnd: number;
      if (hasTab) {
        nameEnd = nameStart;
        while (nameEnd < end && data[nameEnd] !== SPACE && data[nameEnd] !== TAB) nameEnd++;
      } else {
        nameEnd = indexOf.call(data, SPACE, nameStart);
        if (nameEnd === -1) nameEnd = end;
      }
      let nl = indexOf.call(data, LF, nameEnd);
      if (nl === -1) nl = end - 1;
      const next = nl + 1;
      const hash = hashRange(view, data, nameStart, nameEnd);
      addTo(registers, hash);
      const reason: ScreenReason | undefined = !screened
        ? undefined
        : namespace !== undefined && !namespace.allows(data, nameStart, nameEnd)
          ? 'namespace'
          : quota !== undefined && !quota.admit(hash)
            ? 'name_quota'
            : undefined;
      if (reason === undefined) {
        points++;
      } else {
        if (runStart < pos) pieces.push(data.subarray(runStart, pos));
        runStart = next;
        if (reason === 'namespace') outOfNamespace++;
        else overQuota++;
        onDrop(data.subarray(pos, nl), reason);
      }
      pos = next;
    }
    if (pos < end && performance.now() - turnStarted >= TURN_MS) {
      await nextTurn();
      turnStarted = performance.now();
    }
  }
  if (outOfNamespace + overQuota === 0) return { data, points, namespace: 0, nameQuota: 0 };
  if (runStart < end) pieces.push(data.subarray(runStart, end));
  return { data: await joinInSteps(pieces), points, namespace: outOfNamespace, nameQuota: overQuota };
}
