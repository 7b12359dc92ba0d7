// -api-key-file: the proxy's API key read from a file, so it is not in the process list. The file
// must be readable by its owner only (like ssh's private keys), or the check refuses it. Safe to
// call again (a reload re-reads the key; a failed read keeps the old one).
import { closeSync, fstatSync, openSync, readFileSync } from 'node:fs';
import { fileErrorText } from '../errors.js';
import { ConfigError } from './validate.js';

export class ApiKeyFileError extends ConfigError {
  override readonly code = 'POLYMUR_ERR_API_KEY_FILE';
  constructor(readonly path: string, reason: string) {
    super(`-api-key-file: ${path}: ${reason}`);
  }
}

export function readApiKey(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new ApiKeyFileError(path, fileErrorText(err));
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ApiKeyFileError(path, 'not a regular file');
    const mode = st.mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new ApiKeyFileError(path, `mode 0${mode.toString(8)} lets other users read the key; allow its owner only (chmod 600 ${path})`);
    }
    const key = readFileSync(fd, 'utf8').trim();
    if (key === '') throw new ApiKeyFileError(path, 'the file is empty');
    if (/\s/.test(key)) throw new ApiKeyFileError(path, 'the key must be one line without spaces');
    return key;
  } finally {
    closeSync(fd);
  }
}
