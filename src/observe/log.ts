// Log lines on stderr, one per event: by default in the format of Go's standard logger
// (`2006/01/02 15:04:05 message`), so operators' existing greps and log shippers keep working;
// with -log-format json, one JSON object per line (`{"time":"<RFC 3339>","msg":"..."}`).
import { recentProblems, type RecentProblems } from './recent-problems.js';
function pad(n: number): string {
  return n < 10 ? '0' + n : String(n);
}

export function timestamp(d = new Date()): string {
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export type LogFn = (message: string) => void;

export type LogFormat = 'text' | 'json';
export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

let format: LogFormat = 'text';

/** Chosen once at start, from -log-format. */
export function setLogFormat(chosen: LogFormat): void {
  format = chosen;
}

export function formatLogLine(message: string, chosen: LogFormat, at = new Date()): string {
  return chosen === 'json' ? `${JSON.stringify({ time: at.toISOString(), msg: message })}\n` : `${timestamp(at)} ${message}\n`;
}

export const log: LogFn = (message) => {
  process.stderr.write(formatLogLine(message, format));
};

/**
 * A logger that prints at most `perInterval` lines per `intervalMs`, then one summary of how many
 * were suppressed. For per-line problems (invalid metrics) that could otherwise flood the log.
 */
export function rateLimitedLog(out: LogFn, perInterval = 5, intervalMs = 5000, now: () => number = Date.now, problems: RecentProblems = recentProblems): LogFn {
  let windowStart = 0;
  let printed = 0;
  let suppressed = 0;
  return (message) => {
    // Every message counts on the status page, printed or suppressed.
    problems.note(message);
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
