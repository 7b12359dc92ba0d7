// Which gateway of the -gateway list a batch goes to: the first one in order that is not backing
// off. A failing gateway backs off exponentially (full jitter, Retry-After as a floor); one that
// answers again is preferred again as soon as its wait is over.
import { backoffDelay } from './backoff.js';

export interface GatewaySelector {
  /** Index of the gateway to use now. */
  pick(): number;
  succeeded(index: number): void;
  /** Records a failure; returns how long to wait before the next attempt (0 when another gateway is ready). */
  failed(index: number, afterMs?: number): number;
}

export function createGatewaySelector(count: number, opts: { capMs: number; baseMs?: number; random?: () => number; now?: () => number }): GatewaySelector {
  const now = opts.now ?? Date.now;
  const failures = new Array<number>(count).fill(0);
  const readyAt = new Array<number>(count).fill(0);

  const earliest = (): number => {
    let best = 0;
    for (let i = 1; i < count; i++) if (readyAt[i]! < readyAt[best]!) best = i;
    return best;
  };

  return {
    pick() {
      const t = now();
      for (let i = 0; i < count; i++) if (readyAt[i]! <= t) return i;
      return earliest();
    },
    succeeded(index) {
      failures[index] = 0;
      readyAt[index] = 0;
    },
    failed(index, afterMs) {
      failures[index]!++;
      const delay = Math.max(
        backoffDelay(failures[index]!, { capMs: opts.capMs, ...(opts.baseMs ? { baseMs: opts.baseMs } : {}), ...(opts.random ? { random: opts.random } : {}) }),
        afterMs ?? 0,
      );
      const t = now();
      readyAt[index] = t + delay;
      return Math.max(0, readyAt[earliest()]! - t);
    },
  };
}
