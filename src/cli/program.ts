// What every program's entry does the same way: flags (Go semantics, environment fallback), one
// validation of the configuration, startup errors reported plainly, and the lifecycle: signal
// handlers installed before anything starts, SIGHUP reloading (reload.ts), and SIGINT/SIGTERM closing the
// program's stages in order under -shutdown-timeout, with a backstop that ends the process one
// second after it whatever is blocked (a second signal exits at once).
import { parseFlagsOrExit, usage, type FlagSpec } from '../config/flags.js';
import { deepFreeze } from '../config/freeze.js';
import type { logFormat } from '../config/programs.js';
import { ConfigError, FlagReader, type FlagsOf } from '../config/validate.js';
import { withCode } from '../errors.js';
import { closeStages, type NamedStage, type Stage } from '../lifecycle/stage.js';
import { LOG_FORMATS, log, setLogFormat } from '../observe/log.js';
import { versionText } from './version.js';

/** Data points a program still held at exit, and where they are (keptIn()). */
export type Undelivered = ReadonlyArray<readonly [points: number, where: string]>;

export const LOST = 'held in memory are lost';

/** Where a queue's undelivered points are after the exit: on disk with -spool-dir, else nowhere. */
export function keptIn(spoolDir: string): string {
  return spoolDir !== '' ? `stay in the spool ${spoolDir}` : LOST;
}

export interface Running {
  /** The program's stages in shutdown order: each feeds the ones after it, so it drains first. */
  readonly stages: readonly NamedStage[];
  /** Measured after the shutdown: what was not delivered. */
  undelivered(): Undelivered;
  /** SIGHUP: re-reads what can change without a restart (createReloader); logs, never rejects. */
  reload(): Promise<void>;
}

/**
 * Handed to start(): every stage it opens is tracked as it opens, so that a signal during start-up
 * destroys what exists so far (nothing has been accepted from clients yet) without waiting for
 * start() to finish, which may hang (a gateway that never answers the first ping).
 */
export interface StartUp {
  track<S extends Stage>(name: string, stage: S): S;
}

/** After the deadline, the backstop's extra time before process.exit, whatever is still blocked: a tenth of the promised second is left for exiting. */
export const BACKSTOP_GRACE_MS = 900;

export async function runProgram<T extends readonly FlagSpec[], C extends { readonly shutdownTimeoutMs: number }>(opts: {
  program: string;
  flags: T;
  envPrefix: string;
  readConfig: (f: FlagReader<FlagsOf<T>>) => C;
  start: (config: C, startUp: StartUp) => Promise<Running>;
}): Promise<void> {
  const { values } = parseFlagsOrExit(opts.program, opts.flags, opts.envPrefix, { version: () => versionText(opts.program) });
  let config: C;
  try {
    // Every program's table has -log-format (programs.ts, logFormat).
    setLogFormat(new FlagReader<typeof logFormat>(values).oneOf('log-format', LOG_FORMATS));
    config = deepFreeze(opts.readConfig(FlagReader.of(opts.flags, values)));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // As Go's flag package does for a bad value: the reason, then the usage.
    process.stderr.write(`${opts.program}: ${withCode(err)}\n${usage(opts.program, opts.flags)}`);
    process.exit(2);
  }
  const deadlineMs = config.shutdownTimeoutMs;

  const opened: NamedStage[] = [];
  let running: Running | undefined;
  const stop = async (signal: NodeJS.Signals): Promise<void> => {
    if (running === undefined) {
      // Nothing was accepted from clients yet, so nothing needs draining (and a first ping may hang).
      log(`Received ${signal} during start-up, stopping`);
      const newestFirst = [...opened].reverse();
      for (const [, stage] of newestFirst) stage.destroy();
      log(`Shutdown during start-up: released ${newestFirst.map(([name]) => name).join(', ') || 'nothing'}`);
      process.exit(0);
    }
    const { stages, undelivered } = running;
    const since = Date.now();
    log(`Received ${signal}, shutting down (at most ${deadlineMs / 1000}s)`);
    const backstop = setTimeout(() => {
      log(`Shutdown: still not finished ${(Date.now() - since) / 1000}s after ${signal}; exiting now`);
      logUndelivered(undelivered());
      process.exit(1);
    }, deadlineMs + BACKSTOP_GRACE_MS);
    backstop.unref();
    const report = await closeStages(stages, deadlineMs, log);
    logUndelivered(undelivered());
    log(`Shutdown ${report.timedOut ? 'cut short by -shutdown-timeout' : 'complete'} after ${(Date.now() - since) / 1000}s`);
    // A stop that was asked for and kept its bound succeeded; what it could not deliver is in the log.
    process.exit(0);
  };
  // Installed before start() runs: Node's default for these signals is to die, losing the queue.
  let signalled: NodeJS.Signals | undefined;
  // A SIGHUP during start-up may follow a change to files start() has already read: it reloads once started.
  let reloadWhenStarted = false;
  const reload = (): void => {
    if (signalled !== undefined) return log('Received SIGHUP while shutting down: ignored');
    if (running === undefined) {
      reloadWhenStarted = true;
      return log('Received SIGHUP during start-up: reloading once started');
    }
    log('Received SIGHUP, reloading');
    running.reload().catch((err: unknown) => log(`Reload failed: ${err instanceof Error ? err.message : String(err)}`));
  };
  process.on('SIGHUP', reload);
  const onSignal = (signal: NodeJS.Signals): void => {
    if (signalled !== undefined) {
      log(`Received ${signal} again, exiting now`);
      process.exit(1);
    }
    signalled = signal;
    stop(signal).catch((err: unknown) => {
      log(`Shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    });
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const startUp: StartUp = {
    track(name, stage) {
      opened.push([name, stage]);
      return stage;
    },
  };
  try {
    running = await opts.start(config, startUp);
  } catch (err) {
    log(`${opts.program}: cannot start: ${withCode(err)}`);
    process.exit(1);
  }
  if (reloadWhenStarted) reload();
}

function logUndelivered(undelivered: Undelivered): void {
  const byPlace = new Map<string, number>();
  for (const [points, where] of undelivered) byPlace.set(where, (byPlace.get(where) ?? 0) + points);
  const total = [...byPlace.values()].reduce((sum, points) => sum + points, 0);
  if (total === 0) return log('Shutdown: every data point received was delivered');
  const parts = [...byPlace].filter(([, points]) => points > 0).map(([where, points]) => `${points} ${where}`);
  log(`Shutdown: ${total} data points could not be delivered before the shutdown timeout: ${parts.join(', ')}`);
}
