#!/usr/bin/env node
// polymur-keys (also pgw-key): manages the gateway's API keys in its key store, with the
// original pgw-key's commands and wording. Exit codes: 0 done, 1 refused or store error, 2 usage.
import { basename } from 'node:path';
import { parseFlagsOrExit, type FlagSpec } from '../config/flags.js';
import { stateDir } from '../config/programs.js';
import { KEY_STORE_ACCESS_FLAGS, KEY_STORE_USAGE, readKeyStoreAccess } from '../config/key-store-access.js';
import { resolveStateDir, stateKeyStore } from '../config/state-dir.js';
import { ConfigError, FlagReader } from '../config/validate.js';
import { openKeyStore } from '../keys/open-store.js';
import { KeyStoreError, KeyStoreMissing, type KeyStore } from '../keys/store.js';
import { oneName } from './keys-args.js';
import { Refused, UsageError } from './keys-errors.js';
import { importKeys } from './keys-import.js';
import { listAll } from './keys-list.js';
import { KEY_COMMANDS, type KeysCommand } from './keys-rotate.js';
import { TENANT_COMMANDS } from './keys-tenant.js';
import { versionText } from './version.js';

// Named as invoked (polymur-keys or pgw-key); run as dist/src/cli/keys.js, polymur-keys.
const invokedAs = basename(process.argv[1] ?? 'keys').replace(/\.js$/, '');
const program = invokedAs === 'keys' ? 'polymur-keys' : invokedAs;
const FLAGS = [
  { name: 'key-store', type: 'string', default: 'file:polymur-keys.json', usage: KEY_STORE_USAGE },
  ...KEY_STORE_ACCESS_FLAGS,
  stateDir,
] as const satisfies readonly FlagSpec[];

const USAGE = `Usage: ${program} [-key-store URL] [-state-dir DIR] <command>
Commands:
\tlist names\tShow API key names
\tlist all\tShow API key names and keys (sha256:<hash> for a key kept hashed), expiries, limits, prefixes
\tcreate NAME\tCreate a new API user & key where NAME becomes the user name [-expires DATE]
\tregen NAME\tRegenerate a key for the existing user specified [-expires DATE]
\tdelete NAME\tDelete unregisters a key for the specified user
\trotate NAME\tAdd a new key; the old one stays valid until retire [-expire-old DURATION] [-expires DATE]
\tretire NAME\tRemove the old key of a rotation, keeping the newest
\timport FILE\tImport the keys of 'consul kv export polymur/gateway/keys/' [-overwrite] [-prefix P]
`;

/** The commands kept in their own files. */
const COMMANDS: Readonly<Record<string, KeysCommand>> = { ...KEY_COMMANDS, ...TENANT_COMMANDS, import: importKeys };

async function run(store: KeyStore, args: string[]): Promise<string> {
  const command = args[0] !== undefined && Object.hasOwn(COMMANDS, args[0]) ? COMMANDS[args[0]] : undefined;
  if (command !== undefined) return command({ program, store, now: Date.now }, args);
  switch (args[0]) {
    case 'list': {
      const keys = await store.list().catch((err: unknown) => {
        if (err instanceof KeyStoreMissing) return new Map<string, string>(); // no key created yet
        throw err;
      });
      const names = [...keys.keys()].sort();
      if (args[1] === 'names' && args.length === 2) return names.map((n) => `${n}\n`).join('');
      // A plaintext entry (as the original wrote them) shows its key; one of ours, sha256:<hash>.
      if (args[1] === 'all' && args.length === 2) return listAll(keys);
      throw new UsageError(args.length === 1 ? `${program} list needs names or all` : `${program} list ${args.slice(1).join(' ')} is invalid`);
    }
    case 'delete': {
      const name = oneName(`${program} delete`, args.slice(1));
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
  const url = stateKeyStore(resolveStateDir(flags.string('state-dir')), flags.string('key-store'));
  store = openKeyStore(url, readKeyStoreAccess(flags, url));
  process.stdout.write(await run(store, args));
  process.exitCode = 0;
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${program}: ${err.message}\n`);
    process.exitCode = 2;
  } else if (err instanceof UsageError) {
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
