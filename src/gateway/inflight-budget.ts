// One budget for the memory every in-flight /ingest request holds at once (-max-inflight-bytes):
// compressed bytes read and not yet inflated, inflated bytes not yet validated, a validated copy
// not yet handed to the destinations. The per-request caps bound one request; this bounds them
// all, so thirty bombs inflating at the same time cannot take thirty times -max-batch-bytes.
// A request reserves before it holds more, waiting (first come, first served) for others to
// release; a wait that runs out is answered 503 + Retry-After by the caller.
// Memory a request dropped is not gone until the garbage collector frees it: a bomb leaves up to
// -max-batch-bytes of inflated pieces behind, and the collector frees them when it gets to it,
// later the busier the machine (its marking and sweeping threads share the cores). Counted as
// released, that garbage came on top of the budget: the peak depended on the load. So what a
// request retires stays counted until the collector has freed it (a FinalizationRegistry tells),
// and a wait for room while some is counted asks for a full collection, in the background.
import { PolymurError } from '../errors.js';

export interface InflightBudget {
  readonly limit: number;
  /** Bytes reserved by every open lease. */
  used(): number;
  /** Bytes requests dropped that the garbage collector has not freed yet: counted against the limit too. */
  collecting(): number;
  /** Requests waiting for room now. */
  waiting(): number;
  /** A request's share: starts empty, grows as it reserves, released once however the request ends. */
  lease(): Lease;
}

export interface Lease {
  /** The budget's limit. */
  readonly limit: number;
  /** Bytes this lease holds. */
  readonly held: number;
  /** Reserves `bytes` more if they fit now (and nobody is waiting before): the common case, without a promise. */
  tryReserve(bytes: number): boolean;
  /**
   * Reserves `bytes` more, waiting up to `waitMs` for room: true once reserved, false when the wait
   * ran out or the lease was released meanwhile (nothing reserved). After release(), false at once.
   */
  reserve(bytes: number, waitMs: number): Promise<boolean>;
  /** Counts bytes already in memory (a copy made while validating): never waits, may pass the limit. */
  add(bytes: number): void;
  /** Gives back part of what is held (a reservation larger than what was used). */
  shrink(bytes: number): void;
  /** Gives back what `buffers` (dropped, never read again) hold, once the collector has freed them. */
  retire(buffers: readonly Buffer[]): void;
  /** Gives back everything; safe to call again. */
  release(): void;
}

/** Why a request was answered 503: the budget stayed full for the whole wait. */
export class BudgetExhausted extends PolymurError {
  readonly code = 'POLYMUR_ERR_INFLIGHT_BUDGET';
  constructor(
    readonly wanted: number,
    readonly limit: number,
    readonly waitedMs: number,
  ) {
    super(`in-flight memory budget full: ${wanted} B wanted of ${limit} B after ${waitedMs} ms`);
  }
}

interface Waiter {
  readonly bytes: number;
  readonly grant: () => void;
  /** Leaves the line without room: the wait ran out, or its lease was released. */
  readonly giveUp: () => void;
}

/** `collect`: a collection started in the background, asked for when a request waits while dropped memory is still counted. */
export function createInflightBudget(limit: number, collect?: () => void): InflightBudget {
  let used = 0;
  let collecting = 0;
  const queue: Waiter[] = [];
  const freed = new FinalizationRegistry<number>((bytes) => {
    collecting -= bytes;
    wake();
  });
  let collectAsked = false;
  /** Once per turn at most, and not inside the caller's own handler (what it holds there is alive). */
  const askForCollection = (): void => {
    if (!collect || collecting === 0 || collectAsked) return;
    collectAsked = true;
    setImmediate(() => {
      collectAsked = false;
      collect();
    });
  };

  const fits = (bytes: number): boolean => used + collecting + bytes <= limit;
  /** Grants waiters in arrival order while the first one fits, so a large reservation is not starved by small ones. */
  const wake = (): void => {
    while (queue.length > 0 && fits(queue[0]!.bytes)) {
      const w = queue.shift()!;
      used += w.bytes;
      w.grant();
    }
  };

  return {
    limit,
    used: () => used,
    collecting: () => collecting,
    waiting: () => queue.length,
    lease() {
      let held = 0;
      let released = false;
      const mine = new Set<Waiter>();
      const give = (bytes: number): void => {
        const n = Math.min(Math.max(bytes, 0), held);
        held -= n;
        used -= n;
        wake();
      };
      const tryReserve = (bytes: number): boolean => {
        if (released || queue.length > 0 || !fits(bytes)) return false;
        used += bytes;
        held += bytes;
        return true;
      };
      return {
        limit,
        get held() {
          return held;
        },
        tryReserve,
        reserve(bytes, waitMs) {
          if (released) return Promise.resolve(false);
          if (tryReserve(bytes)) return Promise.resolve(true);
          return new Promise<boolean>((resolve) => {
            const waiter: Waiter = {
              bytes,
              grant: () => {
                clearTimeout(timer);
                mine.delete(waiter);
                held += bytes;
                resolve(true);
              },
              giveUp: () => {
                clearTimeout(timer);
                mine.delete(waiter);
                queue.splice(queue.indexOf(waiter), 1);
                // It may have been first in line: the next may fit.
                wake();
                resolve(false);
              },
            };
            const timer = setTimeout(waiter.giveUp, waitMs);
            timer.unref();
            mine.add(waiter);
            queue.push(waiter);
            askForCollection();
          });
        },
        add(bytes) {
          if (released) return;
          used += bytes;
          held += bytes;
        },
        shrink: give,
        retire(buffers) {
          const backings = new Set<ArrayBufferLike>(buffers.map((b) => b.buffer));
          for (const backing of backings) {
            const n = Math.min(backing.byteLength, held);
            if (n === 0) break;
            held -= n;
            used -= n;
            collecting += n;
            freed.register(backing, n);
          }
        },
        release() {
          released = true;
          // A request that ended while it waited leaves the line, so nobody waits behind it.
          for (const w of [...mine]) w.giveUp();
          give(held);
        },
      };
    },
  };
}
