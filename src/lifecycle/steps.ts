// Work on large buffers done in bounded steps, each its own turn of the event loop, so that one
// request's megabytes never hold up another client's /ping for more than a step.

/** Bytes copied per step when joining pieces: a fraction of a millisecond of memcpy. */
const COPY_STEP_BYTES = 1024 * 1024;

/** Work waiting for its turn, in arrival order: one step per turn of the event loop, whoever it belongs to. */
const waiting: Array<() => void> = [];
let scheduled = false;

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  setImmediate(runOne);
}

function runOne(): void {
  scheduled = false;
  const next = waiting.shift();
  if (waiting.length > 0) schedule();
  next?.();
}

/**
 * Resolves on a later turn of the event loop, after pending I/O has been served. The turns are
 * shared: with four large batches in progress, each turn still runs the step of only one of them
 * (round robin), so what a turn holds the loop for does not grow with the number of requests.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    waiting.push(resolve);
    schedule();
  });
}

/**
 * The pieces as one buffer: zero-copy when they are consecutive ranges of one buffer (what
 * validation hands back for lines it left unchanged), otherwise copied a few MiB per turn.
 */
export async function joinInSteps(pieces: readonly Buffer[]): Promise<Buffer> {
  const runs = consecutiveRuns(pieces);
  if (runs.length === 1) return runs[0]!;
  let total = 0;
  for (const r of runs) total += r.length;
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  let sinceTurn = 0;
  for (const r of runs) {
    for (let at = 0; at < r.length;) {
      const n = Math.min(r.length - at, COPY_STEP_BYTES - sinceTurn);
      r.copy(out, offset, at, at + n);
      at += n;
      offset += n;
      sinceTurn += n;
      if (sinceTurn === COPY_STEP_BYTES) {
        sinceTurn = 0;
        await nextTurn();
      }
    }
  }
  return out;
}

/** Merges each piece that starts where the previous one ends, in the same memory, into one view. */
function consecutiveRuns(pieces: readonly Buffer[]): Buffer[] {
  const runs: Buffer[] = [];
  for (const p of pieces) {
    if (p.length === 0) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && last.buffer === p.buffer && last.byteOffset + last.length === p.byteOffset) {
      runs[runs.length - 1] = Buffer.from(last.buffer, last.byteOffset, last.length + p.length);
    } else {
      runs.push(p);
    }
  }
  if (runs.length === 0) runs.push(Buffer.alloc(0));
  return runs;
}
