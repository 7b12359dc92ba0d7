// Keys in a local JSON file, {"name": "entry", ...}. Every change is a read-modify-write under an
// exclusive lock (file-lock.ts), so concurrent polymur-keys runs cannot undo each other; the new
// content goes to a temporary file in the same directory (mode 0600, fsynced) renamed over the old
// one, so a gateway reading it never sees half a file.
import { open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { watch as watchFile, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { LockTimeout, withFileLock } from './file-lock.js';
import { KeyStoreError, KeyStoreMissing, type KeyStore } from './store.js';

/** How long a change waits for another polymur-keys holding the lock. */
const DEFAULT_LOCK_WAIT_MS = 10_000;

export function createFileKeyStore(path: string, opts: { lockWaitMs?: number } = {}): KeyStore {
  const description = `file ${path}`;

  const read = async (): Promise<Map<string, string>> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new KeyStoreMissing(`key store file ${path} does not exist`);
      throw new KeyStoreError(`cannot read key store ${path}: ${(err as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new KeyStoreError(`key store ${path} is not valid JSON (${(err as Error).message}); expected {"name": "key", ...}`);
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      throw new KeyStoreError(`key store ${path} must hold a JSON object {"name": "key", ...}`);
    }
    const keys = new Map<string, string>();
    for (const [name, key] of Object.entries(parsed)) {
      if (typeof key !== 'string') throw new KeyStoreError(`key store ${path}: the key of "${name}" is not a string`);
      keys.set(name, key);
    }
    return keys;
  };

  /** A store not created yet is empty to the commands that change it (create makes the file). */
  const readOrEmpty = (): Promise<Map<string, string>> =>
    read().catch((err: unknown) => {
      if (err instanceof KeyStoreMissing) return new Map<string, string>();
      throw err;
    });

  const write = async (keys: Map<string, string>): Promise<void> => {
    const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      const file = await open(tmp, 'wx', 0o600);
      try {
        await file.writeFile(JSON.stringify(Object.fromEntries(keys), null, 2) + '\n');
        await file.sync();
      } finally {
        await file.close();
      }
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw err;
    }
    // The rename itself is durable once the directory is synced.
    const dir = await open(dirname(path), 'r');
    try {
      await dir.sync();
    } finally {
      await dir.close();
    }
  };

  /** Applies `change` to the current content under the lock; writes only when it says it changed something. */
  const mutate = async (change: (keys: Map<string, string>) => boolean): Promise<boolean> => {
    try {
      return await withFileLock(path, opts.lockWaitMs ?? DEFAULT_LOCK_WAIT_MS, async () => {
        const keys = await readOrEmpty();
        if (!change(keys)) return false;
        await write(keys);
        return true;
      });
    } catch (err) {
      if (err instanceof KeyStoreError) throw err;
      const why = err instanceof LockTimeout ? `another writer holds the lock: ${err.message}` : (err as Error).message;
      throw new KeyStoreError(`cannot write key store ${path}: ${why}`);
    }
  };

  return {
    description,
    list: read,
    async get(name) {
      return (await readOrEmpty()).get(name);
    },
    put: (name, entry, only) =>
      mutate((keys) => {
        const current = keys.get(name);
        if (only === 'absent' ? current !== undefined : only === 'present' ? current === undefined : only !== undefined && current !== only.value) return false;
        keys.set(name, entry);
        return true;
      }),
    delete: (name) => mutate((keys) => keys.delete(name)),
    async putAll(entries, only) {
      const written = new Set<string>();
      await mutate((keys) => {
        for (const [name, entry] of entries) {
          if (only === 'absent' && keys.has(name)) continue;
          keys.set(name, entry);
          written.add(name);
        }
        return written.size > 0;
      });
      return written;
    },
    async audit() {
      let mode: number;
      try {
        mode = (await stat(path)).mode;
      } catch {
        return []; // a missing file is reported by the first load
      }
      const open = [mode & 0o070 ? 'its group' : '', mode & 0o007 ? 'everyone' : ''].filter((w) => w !== '');
      if (open.length === 0) return [];
      const octal = (mode & 0o777).toString(8).padStart(4, '0');
      return [`key store ${path} has mode ${octal}: ${open.join(' and ')} can read or change the API keys; chmod 600 it`];
    },
    watch(onChange, onError) {
      // Watch the directory: the file itself is replaced by rename on every write.
      let watcher: FSWatcher | undefined;
      try {
        watcher = watchFile(dirname(path), (_event, file) => {
          if (file === null || file === basename(path)) onChange();
        });
        watcher.on('error', onError);
        watcher.unref();
      } catch {
        // Without a watcher the periodic refresh still picks changes up.
      }
      return () => watcher?.close();
    },
    async close() {},
  };
}
