// A clock moved by hand for code that takes injected Timers (src/lifecycle/timers.ts).
import type { Timers } from '../../src/lifecycle/timers.js';

/** A clock moved by hand: timers fire when advance() passes their due time. */
export class FakeClock implements Timers {
  now = 0;
  private nextId = 1;
  private readonly due = new Map<number, { at: number; fn: () => void }>();
  readonly scheduled: number[] = [];

  setTimeout = (fn: () => void, ms: number): number => {
    const id = this.nextId++;
    this.due.set(id, { at: this.now + ms, fn });
    this.scheduled.push(ms);
    return id;
  };

  clearTimeout = (id: never): void => void this.due.delete(id as number);

  pending(): number {
    return this.due.size;
  }

  advance(ms: number): void {
    const until = this.now + ms;
    for (;;) {
      const next = [...this.due.entries()].filter(([, t]) => t.at <= until).sort((a, b) => a[1].at - b[1].at)[0];
      if (!next) break;
      this.due.delete(next[0]);
      this.now = next[1].at;
      next[1].fn();
    }
    this.now = until;
  }
}
