// Notices a destination that stopped reading: it accepts the connection, then its TCP window
// fills and the socket takes no more bytes. The writer tells the watchdog when it hands bytes to
// the socket (busy), each time the socket accepts a piece of them (progress) and when nothing is
// left to write (idle); once no byte was accepted for `timeoutMs` while some wait, onStuck fires
// (once per stall). A quiet connection with nothing to write is never a stall.

export interface WriteWatchdog {
  busy(): void;
  progress(): void;
  idle(): void;
  stop(): void;
}

export function createWriteWatchdog(opts: {
  timeoutMs: number;
  onStuck: (stalledMs: number) => void;
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
  const check = (): void => {
    if (!waiting || fired) return;
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
    },
    stop() {
      waiting = false;
      if (timer) (opts.clearInterval ?? clearInterval)(timer as never);
    },
  };
}
