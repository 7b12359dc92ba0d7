// Debian's HAProxy run for real with deploy/cluster/haproxy.cfg, its environment pointing at test
// gateways on loopback ports, and its own statistics read from its stats socket (`show stat`).
import { spawnTracked } from './programs.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { accepts, freePort } from './free-port.js';
import type { TestCert } from './certs.js';
import { until } from './wait.js';
import { terminate } from './terminate.js';

// From dist/harness/ to the repository's deploy/.
export const HAPROXY_CONFIG = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'deploy', 'cluster', 'haproxy.cfg');

export interface HaproxyBackend {
  readonly host: string;
  readonly httpsPort: number;
  readonly httpPort: number;
  readonly statPort: number;
}

/** One server's row of `show stat`. */
export interface ServerStats {
  readonly backend: string;
  readonly server: string;
  /** Sessions (connections) it was given in all, bytes in and out, UP/DOWN. */
  readonly sessions: number;
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly status: string;
}

export interface Haproxy {
  readonly pid: number;
  /** Port of the TLS passthrough frontend (to the gateways' HTTPS ports). */
  readonly passthroughPort: number;
  /** Port of the frontend that terminates TLS (to the gateways' plain HTTP ports). */
  readonly terminatedPort: number;
  stats(): Promise<ServerStats[]>;
  stop(): Promise<void>;
}

export async function startHaproxy(gateways: readonly HaproxyBackend[], cert: TestCert): Promise<Haproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-haproxy-'));
  const pem = join(dir, 'lb.pem');
  writeFileSync(pem, Buffer.concat([cert.cert, cert.key]), { mode: 0o600 });
  const [passthroughPort, terminatedPort, statsPort] = [await freePort(), await freePort(), await freePort()];
  const socket = join(dir, 'stats.sock');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    POLYMUR_LB_PASSTHROUGH: `127.0.0.1:${passthroughPort}`,
    POLYMUR_LB_TERMINATED: `127.0.0.1:${terminatedPort}`,
    POLYMUR_LB_PEM: pem,
    POLYMUR_LB_STATS_SOCKET: socket,
    POLYMUR_LB_STATS_LISTEN: `127.0.0.1:${statsPort}`,
  };
  gateways.forEach((g, i) => {
    env[`POLYMUR_GW${i + 1}_HOST`] = g.host;
    env[`POLYMUR_GW${i + 1}_HTTPS_PORT`] = String(g.httpsPort);
    env[`POLYMUR_GW${i + 1}_HTTP_PORT`] = String(g.httpPort);
    env[`POLYMUR_GW${i + 1}_STAT_PORT`] = String(g.statPort);
  });
  // -db: in the foreground, logs to stderr; -W not needed: one process.
  const proc = spawnTracked('/usr/sbin/haproxy', ['-db', '-f', HAPROXY_CONFIG], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (output = (output + s).slice(-10_000)));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (output = (output + s).slice(-10_000)));
  const stop = async (): Promise<void> => {
    await terminate(proc);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await until(
      `haproxy listening on ${passthroughPort}:\n${output}`,
      async () => {
        if (proc.exitCode !== null) throw new Error(`haproxy exited (${proc.exitCode}):\n${output}`);
        return (await accepts(passthroughPort)) && (await accepts(terminatedPort));
      },
      20_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  const showStat = (): Promise<string> =>
    new Promise((resolve, reject) => {
      const s = connect(socket);
      let text = '';
      s.setEncoding('utf8').on('data', (d: string) => (text += d));
      s.once('error', reject);
      s.once('close', () => resolve(text));
      s.end('show stat\n');
    });
  return {
    pid: proc.pid!,
    passthroughPort,
    terminatedPort,
    async stats() {
      const [header, ...rows] = (await showStat()).trim().split('\n');
      const columns = header!.replace(/^# /, '').split(',');
      const col = (row: string[], name: string): string => row[columns.indexOf(name)] ?? '';
      return rows
        .map((r) => r.split(','))
        .filter((r) => !['FRONTEND', 'BACKEND'].includes(col(r, 'svname')))
        .map((r) => ({
          backend: col(r, 'pxname'),
          server: col(r, 'svname'),
          sessions: Number(col(r, 'stot')),
          bytesIn: Number(col(r, 'bin')),
          bytesOut: Number(col(r, 'bout')),
          status: col(r, 'status'),
        }));
    },
    stop,
  };
}
