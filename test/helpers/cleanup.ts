// A test's cleanups in the reverse order of their registration, as Go's defer: what started last
// stops first. node:test runs t.after hooks in the order they were added, so a sink registered
// before the program writing to it closed first, and the program, its resend window handing back
// what the dead connection may not have read, spent its whole -shutdown-timeout reconnecting.
import type { TestContext } from 'node:test';

export type Defer = (fn: () => unknown) => void;

/** Returns `defer(fn)`: fn runs when the test ends, after every fn deferred later; all run even when one fails. */
export function createCleanup(t: TestContext): Defer {
  const stack: Array<() => unknown> = [];
  t.after(async () => {
    const errors: unknown[] = [];
    for (const fn of stack.reverse()) {
      try {
        await fn();
      } catch (err) {
        errors.push(err);
      }
    }
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `${errors.length} cleanups failed`);
  });
  return (fn) => void stack.push(fn);
}
