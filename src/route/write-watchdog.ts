// Notices a destination that stopped reading: it accepts the connection, then its TCP window
// fills and the socket takes no more bytes. The writer tells the watchdog when it hands bytes to
// the socket (busy), each time the socket accepts a piece of them (progress) and when nothing is
// left to write (idle); once no byte was accepted for `timeoutMs` while some wait, onStuck fires
// (once per stall). A quiet connection with nothing to write is never a stall.

export interface WriteWatchdog {
  busy(): void;
  progress(): void;
  idle(): void;
  /** Fires onStuck when the stall has lasted timeoutMs; the timer calls it, tests call it directly. */
  check(): void;
  stop(): void;
}

export function createWriteWatchdog(opts: {
  timeoutMs: number;
  onStuck: (stalledMs: number) => void;
  now?: () => number;
  /** How often check() runs; 0 leaves it to the caller (tests with an injected clock). */
  checkEveryMs?: number;
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
  const timer = every > 0 ? setInterval(check, every) : undefined;
  timer?.unref();
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
    check,
    stop() {
      waiting = false;
      if (timer) clearInterval(timer);
    },
  };
}
