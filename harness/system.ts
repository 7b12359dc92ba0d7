// Starts our real programs wired together on 127.0.0.1, every port chosen by the OS (port 0) and
// read back from the programs' own log lines.
import { makeCert, type TestCert } from './certs.js';
import { writeKeyFile, type KeyFile } from './key-file.js';
import { startProgram, type RunningProgram } from './programs.js';

export interface GatewayProcess extends RunningProgram {
  readonly url: string;
  readonly port: number;
  readonly statPort: number;
  readonly apiPort: number;
}

export interface ListenerProcess extends RunningProgram {
  /** The Graphite plaintext port. */
  readonly port: number;
  readonly statPort: number;
}

export { writeKeyFile, type KeyFile };

const portOf = (m: RegExpMatchArray): number => Number(m[1]);

/** The stat port, and the destination API's port (open with -console-out too, as the original's). */
async function statAndApi(p: RunningProgram): Promise<{ statPort: number; apiPort: number }> {
  const [stat, api] = await Promise.all([p.waitForLog(/Runstats started: \S+:(\d+)/), p.waitForLog(/API started: \S+:(\d+)/)]);
  return { statPort: portOf(stat), apiPort: portOf(api) };
}

export async function startGateway(opts: {
  cert?: TestCert;
  keyFile?: KeyFile;
  /** Any key store URL (etcd://…); without it or keyFile, -dev-mode. */
  keyStore?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  nodeArgs?: string[];
}): Promise<GatewayProcess & { cert: TestCert }> {
  const cert = opts.cert ?? makeCert();
  const keyStore = opts.keyStore ?? opts.keyFile?.url;
  const keyArgs = keyStore !== undefined ? ['-key-store', keyStore] : ['-dev-mode'];
  const p = startProgram(
    'gateway',
    [
      '-listen-addr',
      '127.0.0.1',
      '-listen-https-port',
      '0',
      '-cert',
      cert.certPath,
      '-key',
      cert.keyPath,
      '-stat-addr',
      '127.0.0.1:0',
      '-api-addr',
      '127.0.0.1:0',
      ...keyArgs,
      ...(opts.args ?? []),
    ],
    opts.env,
    opts.nodeArgs,
  );
  const [https, ports] = await Promise.all([p.waitForLog(/HTTPS listening on \S+:(\d+)/), statAndApi(p)]);
  const port = portOf(https);
  return Object.assign(p, { url: `https://localhost:${port}`, port, ...ports, cert });
}

export async function startProxy(opts: {
  gateway?: string;
  cert?: TestCert;
  apiKey?: string;
  args?: string[];
  env?: NodeJS.ProcessEnv;
  nodeArgs?: string[];
}): Promise<ListenerProcess> {
  const target = opts.gateway !== undefined ? ['-gateway', opts.gateway, '-api-key', opts.apiKey ?? '123'] : [];
  const p = startProgram(
    'proxy',
    ['-listen-addr', '127.0.0.1:0', '-stat-addr', '127.0.0.1:0', ...target, ...(opts.cert ? ['-cert', opts.cert.certPath] : []), ...(opts.args ?? [])],
    opts.env,
    opts.nodeArgs,
  );
  const [listener, stat] = await Promise.all([p.waitForLog(/Metrics listener started: \S+:(\d+)/), p.waitForLog(/Runstats started: \S+:(\d+)/)]);
  return Object.assign(p, { port: portOf(listener), statPort: portOf(stat) });
}

export type RelayProcess = ListenerProcess & { readonly apiPort: number };

export async function startRelay(args: string[], env?: NodeJS.ProcessEnv, nodeArgs?: string[]): Promise<RelayProcess> {
  const p = startProgram('relay', ['-listen-addr', '127.0.0.1:0', '-stat-addr', '127.0.0.1:0', '-api-addr', '127.0.0.1:0', ...args], env, nodeArgs);
  const [listener, ports] = await Promise.all([p.waitForLog(/Metrics listener started: \S+:(\d+)/), statAndApi(p)]);
  return Object.assign(p, { port: portOf(listener), ...ports });
}
