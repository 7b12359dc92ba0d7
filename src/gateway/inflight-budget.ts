// One budget for the memory every in-flight /ingest request holds at once (-max-inflight-bytes):
// compressed bytes read and not yet inflated, inflated bytes not yet validated, a validated copy
// not yet handed to the destinations. The per-request caps bound one request; this bounds them
// all, so thirty bombs inflating at the same time cannot take thirty times -max-batch-bytes.
// A request reserves before it holds more, waiting (first come, first served) for others to
// release; a wait that runs out is answered 503 + Retry-After by the caller.
import { PolymurError } from '../errors.js';

export interface InflightBudget {
  readonly limit: number;
  /** Bytes reserved by every open lease. */
  used(): number;
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

export function createInflightBudget(limit: number): InflightBudget {
  let used = 0;
  const queue: Waiter[] = [];

  const fits = (bytes: number): boolean => used + bytes <= limit;
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
          });
        },
        add(bytes) {
          if (released) return;
          used += bytes;
          held += bytes;
        },
        shrink: give,
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
