// A file key store for a test, in a fresh temporary directory: no program is started, so a test
// that needs only the file stays a unit test (test/run.mjs --unit).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface KeyFile {
  readonly url: string;
  readonly path: string;
}

/** A file key store holding the given name -> key pairs. */
export function writeKeyFile(keys: Record<string, string>): KeyFile {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-keys-'));
  const path = join(dir, 'keys.json');
  writeFileSync(path, JSON.stringify(keys), { mode: 0o600 });
  return { path, url: `file:${path}` };
}
