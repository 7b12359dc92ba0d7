// What every program's entry does the same way: flags (Go semantics, environment fallback), one
// validation of the configuration, startup errors reported plainly, and a draining shutdown on
// SIGINT/SIGTERM (a second signal exits at once).
import { parseFlagsOrExit, usage, type FlagSpec } from '../config/flags.js';
import { ConfigError, FlagReader } from '../config/validate.js';
import { LOG_FORMATS, log, setLogFormat } from '../observe/log.js';
import { versionText } from './version.js';

export interface Running {
  /** Stop accepting, deliver or persist what is held, release everything. */
  shutdown(): Promise<void>;
}

export async function runProgram<C>(opts: {
  program: string;
  flags: readonly FlagSpec[];
  envPrefix: string;
  readConfig: (f: FlagReader) => C;
  start: (config: C) => Promise<Running>;
}): Promise<void> {
  const { values } = parseFlagsOrExit(opts.program, opts.flags, opts.envPrefix, { version: () => versionText(opts.program) });
  let config: C;
  try {
    const flags = new FlagReader(values);
    setLogFormat(flags.oneOf('log-format', LOG_FORMATS));
    config = opts.readConfig(flags);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    // As Go's flag package does for a bad value: the reason, then the usage.
    process.stderr.write(`${opts.program}: ${err.message}\n${usage(opts.program, opts.flags)}`);
    process.exit(2);
  }

  let running: Running;
  try {
    running = await opts.start(config);
  } catch (err) {
    log(`${opts.program}: cannot start: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  }

  let stopping = false;
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stopping) {
      log(`Received ${signal} again, exiting now`);
      process.exit(1);
    }
    stopping = true;
    log(`Received ${signal}, shutting down`);
    running.shutdown().then(
      () => {
        log('Shutdown complete');
        process.exit(0);
      },
      (err: unknown) => {
        log(`Shutdown failed: ${err instanceof Error ? err.message : String(err)}`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
