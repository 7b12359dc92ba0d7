// Log lines in the format of Go's standard logger (`2006/01/02 15:04:05 message`), on stderr,
// so operators' existing greps and log shippers keep working.
function pad(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

export function timestamp(d = new Date()): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export type LogFn = (message: string) => void;

export const log: LogFn = (message) => {
  process.stderr.write(`${timestamp()} ${message}\n`);
};

/**
 * A logger that prints at most `perInterval` lines per `intervalMs`, then one summary of how many
 * were suppressed. For per-line problems (invalid metrics) that could otherwise flood the log.
 */
export function rateLimitedLog(out: LogFn, perInterval = 5, intervalMs = 5000, now: () => number = Date.now): LogFn {
  let windowStart = 0;
  let printed = 0;
  let suppressed = 0;
  return (message) => {
    const t = now();
    if (t - windowStart >= intervalMs) {
      if (suppressed > 0) out(`(${suppressed} similar messages suppressed)`);
      windowStart = t;
      printed = 0;
      suppressed = 0;
    }
    if (printed < perInterval) {
      printed++;
      out(message);
    } else {
      suppressed++;
    }
  };
}
