// The gateway's last-known-good copy of a remote key store (etcd, Consul): the entries exactly as
// stored (hashed ones stay hashed), written to the state directory (0600) after every read that
// changed them, so that a gateway started while the store is unreachable serves the keys it last
// knew instead of refusing to start.
import { chmodSync, openSync, readFileSync, renameSync, statSync, writeSync, closeSync, fsyncSync } from 'node:fs';
import type { ErrorCode } from '../errors.js';
import { KeyStoreError } from './store.js';

/** The copy's file name inside the state directory. */
export const KEY_COPY_FILE = 'polymur-keys.last-known-good.json';

export class KeyCopyError extends KeyStoreError {
  override readonly code: ErrorCode = 'POLYMUR_ERR_KEY_COPY';
}

export interface KeyCopy {
  readonly path: string;
  /** The saved entries and when they were saved, or undefined when there is no copy yet. KeyCopyError when it cannot be read. */
  load(): { entries: Map<string, string>; savedAt: Date } | undefined;
  /** Replaces the copy when `entries` differ from what it holds; KeyCopyError when it cannot be written. */
  save(entries: ReadonlyMap<string, string>): void;
}

function serialize(entries: ReadonlyMap<string, string>): string {
  return `${JSON.stringify(Object.fromEntries([...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))), null, 1)}\n`;
}

export function createKeyCopy(path: string): KeyCopy {
  let written: string | undefined;
  return {
    path,
    load() {
      let text: string;
      let savedAt: Date;
      try {
        text = readFileSync(path, 'utf8');
        savedAt = statSync(path).mtime;
      } catch (err) {
        if ((err as { code?: string }).code === 'ENOENT') return undefined;
        throw new KeyCopyError(`cannot read the last-known-good key copy ${path}: ${(err as Error).message}`);
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        throw new KeyCopyError(`the last-known-good key copy ${path} is not valid JSON`);
      }
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed) || !Object.values(parsed).every((v) => typeof v === 'string')) {
        throw new KeyCopyError(`the last-known-good key copy ${path} is not an object of name -> entry strings`);
      }
      written = text;
      return { entries: new Map(Object.entries(parsed as Record<string, string>)), savedAt };
    },
    save(entries) {
      const text = serialize(entries);
      if (text === written) return;
      // A new file renamed over the old one: a crash midway leaves the old copy whole.
      const tmp = `${path}.tmp`;
      try {
        const fd = openSync(tmp, 'w', 0o600);
        try {
          writeSync(fd, text);
          fsyncSync(fd);
        } finally {
          closeSync(fd);
        }
        chmodSync(tmp, 0o600); // a tmp file left by an older run keeps its mode through open()
        renameSync(tmp, path);
      } catch (err) {
        throw new KeyCopyError(`cannot write the last-known-good key copy ${path}: ${(err as Error).message}`);
      }
      written = text;
    },
  };
}
