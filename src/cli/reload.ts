// SIGHUP: a program's reloadable parts, re-read one after another. Each part returns a line saying
// what changed, or throws an error saying why it could not (and keeps what it had): one part that
// fails does not stop the others. Reloads take turns: a SIGHUP during a reload runs one more
// after it (the files may have changed again since it started), however many arrived meanwhile.
import { PolymurError, withCode } from '../errors.js';

export interface ReloadPart {
  /** What it reloads, for the log: "API keys", "TLS certificate", "destinations file". */
  readonly name: string;
  /** Applies the new setting and says what changed; throws (keeping the old setting) when it cannot. */
  reload(): Promise<string>;
}

/** Thrown by a part whose new setting cannot be used; the message says why, for the operator. */
export class ReloadError extends PolymurError {
  readonly code = 'POLYMUR_ERR_RELOAD';
}

/** The reload() of a program: runs the parts in order, logs each outcome, never rejects. */
export function createReloader(parts: readonly ReloadPart[], log: (m: string) => void): () => Promise<void> {
  const once = async (): Promise<void> => {
    if (parts.length === 0) {
      log('Reload complete: nothing to reload (no key store, certificate, API key file or destinations file)');
      return;
    }
    let failed = 0;
    for (const part of parts) {
      try {
        log(`Reload: ${part.name}: ${await part.reload()}`);
      } catch (err) {
        failed++;
        log(`Reload: ${part.name} FAILED, keeping the old setting: ${withCode(err)}`);
      }
    }
    log(failed === 0 ? 'Reload complete' : `Reload complete; ${failed} of ${parts.length} parts kept their old setting`);
  };
  let running: Promise<void> | undefined;
  let again: Promise<void> | undefined;
  return () => {
    if (running === undefined) {
      running = once().finally(() => (running = undefined));
      return running;
    }
    // One more after the one running, shared by every SIGHUP that arrives meanwhile.
    again ??= running.then(() => {
      again = undefined;
      running = once().finally(() => (running = undefined));
      return running;
    });
    return again;
  };
}
