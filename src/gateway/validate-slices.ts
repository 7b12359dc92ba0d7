// Validation of a batch in slices that yield between them: a valid 24 MB body of 4 million tiny
// lines takes a few hundred ms to check, held as one step it would stall every other client. The
// body is cut only after an LF, so every slice holds whole lines and filterLines gives the same
// verdict on each line as it would over the whole; a batch of ordinary size is done in one turn.
import { performance } from 'node:perf_hooks';
import { filterLines, type FilterResult, type InvalidReason } from '../protocol/lines.js';
import { joinInSteps, nextTurn } from '../lifecycle/steps.js';

/** Bytes validated between two looks at the clock: an ordinary proxy batch in one or two, 2-3 ms of the shortest lines. */
const SLICE_BYTES = 256 * 1024;
/** The longest one turn of the event loop validates before it lets other clients in. */
const TURN_MS = 2;

const LF = 0x0a;

export async function filterLinesInSlices(
  body: Buffer,
  prefix: Buffer | undefined,
  onInvalid: (line: Buffer, reason: InvalidReason) => void,
  maxLineBytes: number,
  /** Applied to each validated slice (the rule files: gateway/validate-with-rules.ts). */
  then: (slice: FilterResult) => FilterResult = (slice) => slice,
): Promise<FilterResult> {
  if (body.length <= SLICE_BYTES) return then(filterLines(body, 0, body.length, prefix, onInvalid, maxLineBytes));
  const pieces: Buffer[] = [];
  let points = 0;
  let invalid = 0;
  let turnStarted = performance.now();
  for (let start = 0; start < body.length;) {
    if (performance.now() - turnStarted >= TURN_MS) {
      await nextTurn();
      turnStarted = performance.now();
    }
    const nl = body.indexOf(LF, Math.min(start + SLICE_BYTES, body.length) - 1);
    const end = nl === -1 ? body.length : nl + 1;
    // A view of the slice, not (body, start, end): filterLines looks for a TAB up to the end of the
    // buffer it is given, which for a slice of a large body would be the whole rest of it each time.
    const r = then(filterLines(body.subarray(start, end), 0, end - start, prefix, onInvalid, maxLineBytes));
    pieces.push(r.data);
    points += r.points;
    invalid += r.invalid;
    start = end;
  }
  return { data: await joinInSteps(pieces), points, invalid };
}
