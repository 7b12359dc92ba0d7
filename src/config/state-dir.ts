// -state-dir: where the files a program keeps (the key store, the dead-letter file, the spool)
// live when their paths are relative. Under a service manager the working directory is `/`, so
// a relative default would land there: systemd's StateDirectory= sets $STATE_DIRECTORY, the
// default here; on a command line the default is the working directory, as before.
import { isAbsolute, resolve } from 'node:path';

export const STATE_DIR_USAGE =
  'Directory that relative state paths (key store file, dead letter, spool) resolve against (default: $STATE_DIRECTORY when set, else the working directory)';

/** The -state-dir flag's value, else the first of $STATE_DIRECTORY's ':'-separated paths, else `cwd`; absolute. */
export function resolveStateDir(flag: string, env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string {
  const fromSystemd = env['STATE_DIRECTORY']?.split(':').find((p) => p !== '');
  return resolve(cwd, flag !== '' ? flag : (fromSystemd ?? cwd));
}

/** Whether a state directory was configured (-state-dir or $STATE_DIRECTORY), not the working directory by default. */
export function stateDirGiven(flag: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return flag !== '' || (env['STATE_DIRECTORY'] ?? '').split(':').some((p) => p !== '');
}

/** A state file's path: kept when absolute (or empty: not configured), else inside the state directory. */
export function statePath(stateDir: string, path: string): string {
  return path === '' || isAbsolute(path) ? path : resolve(stateDir, path);
}

/** A -key-store URL with a file store's relative path inside the state directory; etcd://, consul:// and bare `consul` kept. */
export function stateKeyStore(stateDir: string, url: string): string {
  if (url === 'consul' || /^[a-z][a-z0-9+.-]*:\/\//i.test(url)) return url;
  return `file:${statePath(stateDir, url.startsWith('file:') ? url.slice('file:'.length) : url)}`;
}
