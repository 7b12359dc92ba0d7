// The flags that say how to reach an etcd cluster holding the keys, shared by polymur-gateway and
// polymur-keys (both must reach the same store the same way). TLS is the `etcds://` scheme, not a
// switch: the URL alone says what the endpoints speak, it is copied as one value between the two
// programs' settings, and a CA given for a plain etcd:// store is refused instead of ignored.
// The password never comes from the command line (ps shows it): a 0600 file, or the environment.
import { readFileSync } from 'node:fs';
import type { FlagSpec } from './flags.js';
import { readSecretFile } from './api-key-file.js';
import { ConfigError, type FlagReader, type FlagsOf } from './validate.js';
import type { EtcdAccess } from '../keys/etcd-access.js';

/** The environment variable that may hold the etcd password instead of -key-store-password-file. */
export const KEY_STORE_PASSWORD_ENV = 'POLYMUR_KEY_STORE_PASSWORD';

export const KEY_STORE_USAGE = 'API key store: file:PATH, etcd://HOST:PORT[,HOST:PORT...][/PREFIX] (etcds://: TLS), consul://HOST:PORT, or consul (the agent in CONSUL_HTTP_ADDR)';

export const KEY_STORE_ACCESS_FLAGS = [
  { name: 'key-store-ca', type: 'string', default: '', usage: "CA certificate file of an etcds:// key store (empty: the system's CAs)" },
  { name: 'key-store-cert', type: 'string', default: '', usage: 'Client certificate file for an etcds:// key store whose members ask for one (with -key-store-key)' },
  { name: 'key-store-key', type: 'string', default: '', usage: 'Private key file of -key-store-cert' },
  {
    name: 'key-store-user',
    type: 'string',
    default: '',
    usage: 'etcd user of the key store (etcd auth; the password from -key-store-password-file or $POLYMUR_KEY_STORE_PASSWORD)',
  },
  { name: 'key-store-password-file', type: 'string', default: '', usage: 'File holding the etcd password of -key-store-user (mode 0600)' },
] as const satisfies readonly FlagSpec[];

function pem(flag: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError(`-${flag}: cannot read ${path}: ${(err as Error).message}`);
  }
}

/** Reads and checks the access flags for the -key-store URL `url`; files are read here, once. */
export function readKeyStoreAccess(f: FlagReader<FlagsOf<typeof KEY_STORE_ACCESS_FLAGS>>, url: string, env: NodeJS.ProcessEnv = process.env): EtcdAccess {
  const etcd = url.startsWith('etcd://') || url.startsWith('etcds://');
  const tls = url.startsWith('etcds://');
  const [ca, cert, key, user, passwordFile] = KEY_STORE_ACCESS_FLAGS.map((spec) => f.string(spec.name)) as [string, string, string, string, string];
  const given = KEY_STORE_ACCESS_FLAGS.filter((spec) => f.string(spec.name) !== '').map((spec) => `-${spec.name}`);
  if (!etcd && given.length > 0) throw new ConfigError(`${given.join(', ')}: only for an etcd:// or etcds:// -key-store, not "${url}"`);
  if (!tls && (ca !== '' || cert !== '' || key !== '')) {
    throw new ConfigError(`-key-store-ca, -key-store-cert and -key-store-key are for TLS: write the key store as etcds://${url.slice('etcd://'.length)}`);
  }
  if ((cert === '') !== (key === '')) throw new ConfigError('a client certificate needs both -key-store-cert and -key-store-key (got only one of them)');
  if (cert !== '' && ca === '') throw new ConfigError("-key-store-cert needs -key-store-ca (the CA that signed the members' certificates)");
  const envPassword = env[KEY_STORE_PASSWORD_ENV];
  if (passwordFile !== '' && envPassword !== undefined) throw new ConfigError(`give the etcd password once: -key-store-password-file or $${KEY_STORE_PASSWORD_ENV}, not both`);
  const password = passwordFile !== '' ? readSecretFile(passwordFile, 'key-store-password-file', 'password') : envPassword;
  if (user === '' && password !== undefined) throw new ConfigError(`an etcd password (-key-store-password-file or $${KEY_STORE_PASSWORD_ENV}) needs -key-store-user`);
  if (user !== '' && (password === undefined || password === '')) {
    throw new ConfigError(`-key-store-user ${user} needs a password: -key-store-password-file (mode 0600) or $${KEY_STORE_PASSWORD_ENV}`);
  }
  return {
    ...(ca !== '' ? { ca: pem('key-store-ca', ca) } : {}),
    ...(cert !== '' ? { client: { cert: pem('key-store-cert', cert), key: pem('key-store-key', key) } } : {}),
    ...(user !== '' && password !== undefined ? { auth: { user, password } } : {}),
  };
}
