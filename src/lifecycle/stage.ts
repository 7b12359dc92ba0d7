// The one lifecycle vocabulary every stage speaks (listener, batcher, compressing sink, queue,
// forwarder, router, writer, spool, servers): close() drains, destroy() stops now. A program
// closes its stages in order under one deadline with closeStages().
import { realTimers, type Timers } from './timers.js';

export interface Stage {
  /**
   * Stop taking work and deliver (or persist) what is held. Resolves once drained. Safe to call
   * twice: a second call returns the first call's promise. The caller bounds the wait.
   */
  close(): Promise<void>;
  /**
   * Stop at once: abort what is in flight, release sockets, files and timers. What is held stays
   * in the spool (when there is one) or is reported by the stage. Safe to call at any time, also
   * while close() is pending (which then resolves) and after it.
   */
  destroy(): void;
}

export type NamedStage = readonly [name: string, stage: Stage];

export interface ShutdownReport {
  /** Stages that drained before the deadline, in order. */
  readonly closed: readonly string[];
  /** Stages destroyed because the deadline passed (or their close() failed). */
  readonly destroyed: readonly string[];
  readonly timedOut: boolean;
}

/**
 * Closes `stages` one after another (an earlier stage feeds a later one, so it drains first)
 * under one deadline. When the deadline passes, the stage being closed and every later one are
 * destroyed. Never waits longer than `deadlineMs` (plus what destroy() takes, which is synchronous).
 */
export async function closeStages(stages: readonly NamedStage[], deadlineMs: number, log: (m: string) => void, timers: Timers = realTimers): Promise<ShutdownReport> {
  const closed: string[] = [];
  const destroyed: string[] = [];
  let expired = false;
  let onExpire: (() => void) | undefined;
  const deadline = new Promise<'deadline'>((resolve) => {
    onExpire = () => resolve('deadline');
  });
  // Not unref'd: a close() waiting on nothing that keeps the process alive must still reach the
  // deadline (destroy, the undelivered count, the exit code), not end in a silent exit.
  const timer = timers.setTimeout(() => {
    expired = true;
    onExpire?.();
  }, deadlineMs);
  let index = 0;
  try {
    for (; index < stages.length && !expired; index++) {
      const [name, stage] = stages[index]!;
      let outcome: 'closed' | 'deadline' | 'failed';
      try {
        outcome = await Promise.race([stage.close().then(() => 'closed' as const), deadline]);
      } catch (err) {
        log(`Shutdown: closing ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
        outcome = 'failed';
      }
      if (outcome === 'closed') {
        closed.push(name);
        continue;
      }
      if (outcome === 'deadline') break;
      destroyQuietly(name, stage, log);
      destroyed.push(name);
    }
  } finally {
    timers.clearTimeout(timer as never);
  }
  if (index < stages.length) {
    log(
      `Shutdown: -shutdown-timeout of ${deadlineMs / 1000}s passed; stopping ${stages
        .slice(index)
        .map(([n]) => n)
        .join(', ')} now`,
    );
    for (const [name, stage] of stages.slice(index)) {
      destroyQuietly(name, stage, log);
      destroyed.push(name);
    }
  }
  return { closed, destroyed, timedOut: expired };
}

/** destroy() must not stop the stages after it from being destroyed too. */
function destroyQuietly(name: string, stage: Stage, log: (m: string) => void): void {
  try {
    stage.destroy();
  } catch (err) {
    log(`Shutdown: destroying ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}
