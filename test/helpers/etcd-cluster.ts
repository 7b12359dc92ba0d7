// A real 3-member etcd cluster (Debian's etcd-server) on loopback ports, TLS between clients and
// members and between members (one test certificate, which is its own CA, for all), client
// certificates required, and etcd's auth on: root, and a `polymur` user that may only read and
// write the key prefix. Members can be stopped and started again (same data, same ports).
import { execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { spawnTracked } from '../../harness/programs.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './carbon.js';
import { untilEtcdReady } from './etcd.js';
import { makeCert, type TestCert } from '../../harness/certs.js';
import { terminate } from '../../harness/terminate.js';

const run = promisify(execFile);

export const ETCD_USER = 'polymur';
export const ETCD_PASSWORD = 'etcd-test-password';
const ROOT_PASSWORD = 'etcd-root-password';

export interface EtcdCluster {
  /** host:port of each member's client endpoint. */
  readonly endpoints: readonly string[];
  /** `etcds://a,b,c` with the default key prefix. */
  readonly url: string;
  readonly cert: TestCert;
  /** A 0600 file holding the polymur user's password. */
  readonly passwordFile: string;
  /** The flags a gateway or polymur-keys needs to reach the cluster besides -key-store. */
  readonly accessFlags: string[];
  /** -key-store and the access flags. */
  readonly flags: string[];
  /** Runs etcdctl (API v3, as root, over TLS) against every member still up; its stdout. */
  ctl(...args: string[]): Promise<string>;
  stopMember(i: number): Promise<void>;
  startMember(i: number): Promise<void>;
  stop(): Promise<void>;
}

interface Member {
  readonly name: string;
  readonly client: string;
  readonly peer: string;
  proc?: ChildProcess;
}

export async function startEtcdCluster(size = 3): Promise<EtcdCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-etcd-cluster-'));
  const cert = makeCert('localhost');
  const members: Member[] = [];
  for (let i = 0; i < size; i++) {
    members.push({ name: `m${i}`, client: `127.0.0.1:${await freePort()}`, peer: `127.0.0.1:${await freePort()}` });
  }
  // JWT auth tokens, as etcd advises for a cluster: every member can check a token any member
  // issued (its default "simple" tokens are known to the issuing member only, so a client whose
  // watch moves to another member after a failure would be refused there).
  const jwtKey = join(dir, 'jwt.key');
  const jwtPub = join(dir, 'jwt.pub');
  execFileSync('openssl', ['genrsa', '-out', jwtKey, '2048'], { stdio: 'ignore' });
  execFileSync('openssl', ['rsa', '-in', jwtKey, '-pubout', '-out', jwtPub], { stdio: 'ignore' });
  const initialCluster = members.map((m) => `${m.name}=https://${m.peer}`).join(',');
  const tls = (side: 'client' | 'peer'): string[] => {
    const p = side === 'client' ? '' : 'peer-';
    return [`--${p}cert-file`, cert.certPath, `--${p}key-file`, cert.keyPath, `--${p}trusted-ca-file`, cert.certPath, `--${p}client-cert-auth`];
  };

  const startMember = async (i: number): Promise<void> => {
    const m = members[i]!;
    const proc = spawnTracked(
      '/usr/bin/etcd',
      [
        '--name',
        m.name,
        '--data-dir',
        join(dir, m.name),
        '--listen-client-urls',
        `https://${m.client}`,
        '--advertise-client-urls',
        `https://${m.client}`,
        '--listen-peer-urls',
        `https://${m.peer}`,
        '--initial-advertise-peer-urls',
        `https://${m.peer}`,
        '--initial-cluster',
        initialCluster,
        '--initial-cluster-token',
        'polymur-test',
        '--initial-cluster-state',
        'new',
        // Quick elections: a stopped leader is replaced within about a second.
        '--heartbeat-interval',
        '100',
        '--election-timeout',
        '1000',
        '--auth-token',
        `jwt,pub-key=${jwtPub},priv-key=${jwtKey},sign-method=RS256,ttl=10m`,
        ...tls('client'),
        ...tls('peer'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    m.proc = proc;
    await untilEtcdReady(proc, `etcd member ${m.name}`, 60_000);
  };
  const stopMember = async (i: number): Promise<void> => {
    await terminate(members[i]!.proc);
  };
  const up = (): string[] => members.filter((m) => m.proc && m.proc.exitCode === null && m.proc.signalCode === null).map((m) => m.client);
  const ctl = async (...args: string[]): Promise<string> => {
    const { stdout } = await run(
      '/usr/bin/etcdctl',
      ['--endpoints', up().join(','), '--cacert', cert.certPath, '--cert', cert.certPath, '--key', cert.keyPath, ...(authOn ? ['--user', `root:${ROOT_PASSWORD}`] : []), ...args],
      { env: { ...process.env, ETCDCTL_API: '3' } },
    );
    return stdout;
  };
  let authOn = false;
  const stop = async (): Promise<void> => {
    await Promise.all(members.map((_, i) => stopMember(i)));
    rmSync(dir, { recursive: true, force: true });
    rmSync(cert.dir, { recursive: true, force: true });
  };

  try {
    await Promise.all(members.map((_, i) => startMember(i)));
    await ctl('user', 'add', `root:${ROOT_PASSWORD}`);
    await ctl('role', 'add', 'polymur-keys');
    await ctl('role', 'grant-permission', 'polymur-keys', '--prefix=true', 'readwrite', 'polymur/gateway/keys/');
    await ctl('user', 'add', `${ETCD_USER}:${ETCD_PASSWORD}`);
    await ctl('user', 'grant-role', ETCD_USER, 'polymur-keys');
    await ctl('auth', 'enable');
    authOn = true;
  } catch (err) {
    await stop();
    throw err;
  }
  const passwordFile = join(dir, 'etcd-password');
  writeFileSync(passwordFile, `${ETCD_PASSWORD}\n`, { mode: 0o600 });
  const endpoints = members.map((m) => m.client);
  const accessFlags = [
    '-key-store-ca',
    cert.certPath,
    '-key-store-cert',
    cert.certPath,
    '-key-store-key',
    cert.keyPath,
    '-key-store-user',
    ETCD_USER,
    '-key-store-password-file',
    passwordFile,
  ];
  return {
    endpoints,
    url: `etcds://${endpoints.join(',')}`,
    cert,
    passwordFile,
    accessFlags,
    flags: ['-key-store', `etcds://${endpoints.join(',')}`, ...accessFlags],
    ctl,
    stopMember,
    startMember,
    stop,
  };
}
