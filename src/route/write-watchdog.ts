// Notices a destination that stopped reading: it accepts the connection, then its TCP window
// fills and the socket takes no more bytes. The writer tells the watchdog when it hands bytes to
// the socket (busy), each time the socket accepts a piece of them (progress) and when nothing is
// left to write (idle); once no byte was accepted for `timeoutMs` while some wait, onStuck fires
// (once per stall).
//
// With nothing left to write the socket can still hold what the peer has not read: a peer that
// stopped reading while the stream paused or ended would keep it unnoticed. `unacked` reads how
// many bytes our kernel holds unacknowledged (send-queue.ts): while idle, the same timeout applies
// to it, and any change of it is progress. A quiet connection whose send queue is empty is never a stall.

export interface WriteWatchdog {
  busy(): void;
  progress(): void;
  idle(): void;
  stop(): void;
}

export function createWriteWatchdog(opts: {
  timeoutMs: number;
  onStuck: (stalledMs: number) => void;
  /** Bytes the kernel holds that the peer has not acknowledged; undefined when unknown. */
  unacked?: () => number | undefined;
  now?: () => number;
  /** How often the stall is looked for; 0: never (no write timeout). */
  checkEveryMs?: number;
  /** The timer that looks (a test's, with its clock). */
  setInterval?: (check: () => void, ms: number) => { unref?: () => void };
  clearInterval?: (handle: never) => void;
}): WriteWatchdog {
  const now = opts.now ?? Date.now;
  let waiting = false;
  let lastProgress = 0;
  let fired = false;
  /** The send queue at the last idle check; undefined: no baseline yet. */
  let lastUnacked: number | undefined;
  /** While idle: true when the kernel still holds bytes that did not move since lastProgress. */
  const idleStalled = (): boolean => {
    const unacked = opts.unacked?.();
    if (!unacked) {
      lastUnacked = undefined;
      return false;
    }
    if (unacked !== lastUnacked) {
      lastUnacked = unacked;
      lastProgress = now();
      return false;
    }
    return true;
  };
  const check = (): void => {
    if (fired || (!waiting && !idleStalled())) return;
    const stalled = now() - lastProgress;
    if (stalled < opts.timeoutMs) return;
    fired = true;
    opts.onStuck(stalled);
  };
  const every = opts.checkEveryMs ?? Math.max(10, Math.min(1000, opts.timeoutMs / 10));
  const timer = every > 0 ? (opts.setInterval ?? setInterval)(check, every) : undefined;
  timer?.unref?.();
  return {
    busy() {
      if (waiting) return;
      waiting = true;
      fired = false;
      lastProgress = now();
    },
    progress() {
      lastProgress = now();
    },
    idle() {
      waiting = false;
      lastUnacked = undefined;
    },
    stop() {
      waiting = false;
      if (timer) (opts.clearInterval ?? clearInterval)(timer as never);
    },
  };
}
