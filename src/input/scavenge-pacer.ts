// Young-generation garbage collections paced by the bytes the listener reads. Every socket read
// arrives in a fresh buffer of up to 64 KiB outside V8's heap, and the batcher copies what it
// keeps out of it within milliseconds, so at full speed dead buffers pile up fast. V8 frees them
// only when its young generation fills (slowly: each read adds only a small object to it) or
// when external memory has grown 64 MB since the last collection, so tens of MB of them sat in
// the proxy's memory. A young-generation collection (a scavenge: a fraction of a millisecond, as
// the young objects are nearly all dead) after every 4 MiB read frees them as they die, at the
// same CPU per point (the bench's figures: bench/README.md, "Figures behind constants in the
// code"). Idle listeners read nothing, so they cost nothing.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface ScavengePacer {
  /** Counts bytes read; past the pace, a young-generation collection runs once the current event is done. */
  read(bytes: number): void;
}

/** Bytes read between two collections: about 30 a second at full speed, one in seconds at ordinary rates. */
export const SCAVENGE_EVERY_BYTES = 4 * 1024 * 1024;

type V8Collect = (options: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => unknown;

/**
 * V8's own collector, or undefined where this runtime won't expose it. The flag is turned on just
 * long enough to fetch the function from a fresh context, so no global `gc` appears and no
 * command-line flag is needed.
 */
function v8Collector(): V8Collect | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as V8Collect;
    setFlagsFromString('--no-expose-gc');
    return gc;
  } catch {
    return undefined;
  }
}

/** A young-generation collection (a scavenge), run at once. */
export function youngGenerationCollector(): (() => void) | undefined {
  const gc = v8Collector();
  return gc && (() => void gc({ type: 'minor' }));
}

/**
 * A full collection started in the background (incremental and concurrent marking: the event loop
 * is not held for it), for memory that has lived long enough to leave the young generation; it is
 * also the collection that runs FinalizationRegistry callbacks.
 */
export function backgroundFullCollector(): (() => void) | undefined {
  const gc = v8Collector();
  return gc && (() => void gc({ type: 'major', execution: 'async' }));
}

export function createScavengePacer(opts: { everyBytes?: number; collect: (() => void) | undefined }): ScavengePacer {
  const { collect } = opts;
  if (!collect) return { read: () => {} };
  const everyBytes = opts.everyBytes ?? SCAVENGE_EVERY_BYTES;
  let sinceLast = 0;
  let pending = false;
  const run = (): void => {
    pending = false;
    sinceLast = 0;
    collect();
  };
  return {
    read(bytes) {
      sinceLast += bytes;
      if (sinceLast < everyBytes || pending) return;
      // Not inside the read's own handler: the buffer in hand is still alive there.
      pending = true;
      setImmediate(run);
    },
  };
}
