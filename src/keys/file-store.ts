// Keys in a local JSON file, {"name": "key", ...}. Written atomically (a temporary file in the
// same directory, then rename) with mode 0600, so a gateway reading it never sees half a file.
import { readFile, rename, writeFile, unlink } from 'node:fs/promises';
import { watch as watchFile, type FSWatcher } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { KeyStoreError, type KeyStore } from './store.js';

export function createFileKeyStore(path: string): KeyStore {
  const description = `file ${path}`;

  const read = async (): Promise<Map<string, string>> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
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

  const write = async (keys: Map<string, string>): Promise<void> => {
    const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
    try {
      await writeFile(tmp, JSON.stringify(Object.fromEntries(keys), null, 2) + '\n', { mode: 0o600 });
      await rename(tmp, path);
    } catch (err) {
      await unlink(tmp).catch(() => undefined);
      throw new KeyStoreError(`cannot write key store ${path}: ${(err as Error).message}`);
    }
  };

  return {
    description,
    list: read,
    async get(name) {
      return (await read()).get(name);
    },
    async put(name, key) {
      const keys = await read();
      keys.set(name, key);
      await write(keys);
    },
    async delete(name) {
      const keys = await read();
      if (!keys.delete(name)) return false;
      await write(keys);
      return true;
    },
    watch(onChange) {
      // Watch the directory: the file itself is replaced by rename on every write.
      let watcher: FSWatcher | undefined;
      try {
        watcher = watchFile(dirname(path), (_event, file) => {
          if (file === null || file === basename(path)) onChange();
        });
        watcher.on('error', () => undefined);
        watcher.unref();
      } catch {
        // Without a watcher the periodic refresh still picks changes up.
      }
      return () => watcher?.close();
    },
    async close() {},
  };
}
