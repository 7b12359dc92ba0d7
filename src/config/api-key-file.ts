// -api-key-file: the proxy's API key read from a file, so it is not in the process list. The file
// must be readable by its owner only (like ssh's private keys), or the check refuses it. Safe to
// call again (a reload re-reads the key; a failed read keeps the old one). The same check reads
// -key-store-password-file.
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { fileErrorText } from '../errors.js';
import { ConfigError } from './validate.js';

export class ApiKeyFileError extends ConfigError {
  override readonly code = 'POLYMUR_ERR_API_KEY_FILE';
  constructor(
    readonly path: string,
    reason: string,
    flag = 'api-key-file',
  ) {
    super(`-${flag}: ${path}: ${reason}`);
  }
}

export function readApiKey(path: string): string {
  return readSecretFile(path, 'api-key-file', 'key');
}

/** A one-line secret (no spaces) from a file only its owner may read; errors name `flag`. */
export function readSecretFile(path: string, flag: string, what: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new ApiKeyFileError(path, fileErrorText(err), flag);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ApiKeyFileError(path, 'not a regular file', flag);
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new ApiKeyFileError(path, `mode 0${mode.toString(8)} lets other users read the ${what}; allow its owner only (chmod 600 ${path})`, flag);
    }
    const secret = readFileSync(fd, 'utf8').trim();
    if (secret === '') throw new ApiKeyFileError(path, 'the file is empty', flag);
    if (/\s/.test(secret)) throw new ApiKeyFileError(path, `the ${what} must be one line without spaces`, flag);
    return secret;
  } finally {
    closeSync(fd);
  }
}
