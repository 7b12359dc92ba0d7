#!/usr/bin/env node
// polymur-keys (also pgw-key): manages the gateway's API keys in its key store, with the
// original pgw-key's commands and wording. Exit codes: 0 done, 1 refused or store error, 2 usage.
import { basename } from 'node:path';
import { parseFlagsOrExit, type FlagSpec } from '../config/flags.js';
import { stateDir } from '../config/programs.js';
import { resolveStateDir, stateKeyStore } from '../config/state-dir.js';
import { generateKey } from '../keys/generate.js';
import { hashedEntry } from '../keys/entry.js';
import { KeyStoreError, KeyStoreMissing, openKeyStore, type KeyStore } from '../keys/store.js';
import { FlagReader } from '../config/validate.js';
import { versionText } from './version.js';
import { PolymurError } from '../errors.js';

// Named as invoked (polymur-keys or pgw-key); run as dist/src/cli/keys.js, polymur-keys.
const invokedAs = basename(process.argv[1] ?? 'keys').replace(/\.js$/, '');
const program = invokedAs === 'keys' ? 'polymur-keys' : invokedAs;
const FLAGS = [
  { name: 'key-store', type: 'string', default: 'file:polymur-keys.json', usage: 'API key store: file:PATH, etcd://HOST:PORT, consul://HOST:PORT, or consul (the agent in CONSUL_HTTP_ADDR)' },
  stateDir,
] as const satisfies readonly FlagSpec[];

const USAGE = `Usage: ${program} [-key-store URL] [-state-dir DIR] <command>
Commands:
\tlist names\tShow API key names
\tlist all\tShow API key names and keys (sha256:<hash> for a key kept hashed)
\tcreate NAME\tCreate a new API user & key where NAME becomes the user name
\tregen NAME\tRegenerate a key for the existing user specified
\tdelete NAME\tDelete unregisters a key for the specified user
`;

/**
 * New key names become metric prefixes with -key-prefix: one Graphite path segment. Only create
 * enforces it: regen and delete must reach names the original pgw-key allowed (any string).
 */
const VALID_NEW_NAME = /^[A-Za-z0-9_-]{1,128}$/;

class UsageError extends PolymurError {
  readonly code = 'POLYMUR_ERR_KEYS_USAGE';
}
class Refused extends PolymurError {
  readonly code = 'POLYMUR_ERR_KEYS_REFUSED';
}

function nameArg(args: string[]): string {
  const name = args[1];
  if (name === undefined || name === '' || args.length > 2) throw new UsageError(`${program} ${args[0]} takes one NAME`);
  return name;
}

function newNameArg(args: string[]): string {
  const name = nameArg(args);
  if (!VALID_NEW_NAME.test(name)) throw new UsageError(`invalid name "${name}": use letters, digits, '_' and '-' (it becomes a metric prefix)`);
  return name;
}

async function run(store: KeyStore, args: string[]): Promise<string> {
  switch (args[0]) {
    case 'list': {
      const keys = await store.list().catch((err: unknown) => {
        if (err instanceof KeyStoreMissing) return new Map<string, string>(); // no key created yet
        throw err;
      });
      const names = [...keys.keys()].sort();
      if (args[1] === 'names' && args.length === 2) return names.map((n) => `${n}\n`).join('');
      // A plaintext entry (as the original wrote them) shows its key; one of ours, sha256:<hash>.
      if (args[1] === 'all' && args.length === 2) return names.map((n) => `${n}: ${keys.get(n)}\n`).join('');
      throw new UsageError(args.length === 1 ? `${program} list needs names or all` : `${program} list ${args.slice(1).join(' ')} is invalid`);
    }
    // The store keeps only the key's hash: this output is the one place the key is ever shown.
    case 'create': {
      const name = newNameArg(args);
      const key = generateKey();
      if (!(await store.put(name, hashedEntry(key), 'absent'))) throw new Refused(`Key ${name} already exists`);
      return `Successfully registered ${name} with key ${key}\n`;
    }
    case 'regen': {
      const name = nameArg(args);
      const key = generateKey();
      if (!(await store.put(name, hashedEntry(key), 'present'))) throw new Refused(`Key ${name} doesn't exist`);
      return `Successfully regenerated ${name} with key ${key}\n`;
    }
    case 'delete': {
      const name = nameArg(args);
      if (!(await store.delete(name))) throw new Refused(`Key ${name} doesn't exist`);
      return `Successfully deleted ${name}\n`;
    }
    default:
      throw new UsageError(args[0] === undefined ? 'no command given' : `Not a valid command: ${args[0]}`);
  }
}

const { values, args } = parseFlagsOrExit(program, FLAGS, 'POLYMUR', { version: () => versionText(program), takesArguments: true });
const flags = FlagReader.of(FLAGS, values);
let store: KeyStore | undefined;
try {
  // The same file as the gateway's: a relative file store is inside -state-dir ($STATE_DIRECTORY).
  store = openKeyStore(stateKeyStore(resolveStateDir(flags.string('state-dir')), flags.string('key-store')));
  process.stdout.write(await run(store, args));
  process.exitCode = 0;
} catch (err) {
  if (err instanceof UsageError) {
    process.stderr.write(`${err.message}\n\n${USAGE}`);
    process.exitCode = 2;
  } else if (err instanceof Refused || err instanceof KeyStoreError) {
    process.stderr.write(`${err.message}\n`);
    process.exitCode = 1;
  } else {
    throw err;
  }
} finally {
  await store?.close();
}
