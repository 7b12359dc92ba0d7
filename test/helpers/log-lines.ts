// An in-process log sink for modules that take a `log` function: records lines and waits for one.
export interface LogLines {
  readonly log: (line: string) => void;
  readonly lines: string[];
  /** Resolves with the first line (from index `from` on) matching; rejects after timeoutMs. */
  waitFor(pattern: RegExp, opts?: { from?: number; timeoutMs?: number }): Promise<string>;
}

export function logLines(): LogLines {
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  return {
    lines,
    log(line) {
      lines.push(line);
      for (const w of [...waiters]) w();
    },
    waitFor(pattern, { from = 0, timeoutMs = 10_000 } = {}) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const hit = lines.slice(from).find((l) => pattern.test(l));
          if (hit === undefined) return;
          waiters.delete(check);
          clearTimeout(timer);
          resolve(hit);
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`no log line matching ${pattern} within ${timeoutMs} ms; got:\n${lines.slice(from).join('\n')}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
  };
}
