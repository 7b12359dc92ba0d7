// Debian's tinyproxy as a site's egress proxy on 127.0.0.1: a config file in a temp dir, run in the
// foreground, its log read back to see which CONNECT tunnels (and which plain requests) it served.
import { type ChildProcess } from 'node:child_process';
import { spawnTracked } from '../../harness/programs.js';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { until } from './points.js';

export interface Tinyproxy {
  readonly port: number;
  readonly url: string;
  /** The request lines it logged, e.g. `CONNECT localhost:4443 HTTP/1.1`. */
  requests(): string[];
  /** Its whole log. */
  log(): string;
  /** Kills it (SIGKILL: every tunnel cut at once); the port is free until start(). */
  kill(): Promise<void>;
  /** Starts it again on the same port, allowing CONNECT to other ports if given. */
  start(connectPorts?: readonly number[]): Promise<void>;
  /** SIGSTOP: connections are still accepted by the kernel, and nothing answers; thaw() is SIGCONT. */
  freeze(): void;
  thaw(): void;
  stop(): Promise<void>;
}

/** Tinyproxy refuses Port 0: a port the OS chose, released for it to bind. */
async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  await once(server, 'close');
  return port;
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A tinyproxy that allows CONNECT to `connectPorts` only (a site's egress policy), with a password if given. */
export async function startTinyproxy(opts: { connectPorts: readonly number[]; basicAuth?: { user: string; password: string } }): Promise<Tinyproxy> {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-tinyproxy-'));
  const logFile = join(dir, 'tinyproxy.log');
  const port = await freePort();
  const config = join(dir, 'tinyproxy.conf');
  const writeConfig = (connectPorts: readonly number[]): void =>
    writeFileSync(
      config,
      [
        `Port ${port}`,
        'Listen 127.0.0.1',
        'Allow 127.0.0.1',
        'Timeout 60',
        'MaxClients 64',
        `LogFile "${logFile}"`,
        'LogLevel Connect',
        ...connectPorts.map((p) => `ConnectPort ${p}`),
        ...(opts.basicAuth ? [`BasicAuth ${opts.basicAuth.user} ${opts.basicAuth.password}`] : []),
        '',
      ].join('\n'),
    );
  let proc: ChildProcess | undefined;
  const start = async (connectPorts: readonly number[] = opts.connectPorts): Promise<void> => {
    writeConfig(connectPorts);
    const p = spawnTracked('tinyproxy', ['-d', '-c', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    p.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    proc = p;
    await until(
      `tinyproxy accepting on ${port} (stderr: ${stderr})`,
      async () => {
        if (p.exitCode !== null) throw new Error(`tinyproxy exited ${p.exitCode}: ${stderr}`);
        return accepting(port);
      },
      10_000,
    );
  };
  const kill = async (): Promise<void> => {
    const p = proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    p.kill('SIGKILL');
    await once(p, 'exit');
  };
  await start();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    log: () => readFileSync(logFile, 'utf8'),
    requests() {
      const text = readFileSync(logFile, 'utf8');
      return [...text.matchAll(/Request \(file descriptor \d+\): (.*)$/gm)].map((m) => m[1]!.trim());
    },
    kill,
    start,
    freeze: () => proc?.kill('SIGSTOP'),
    thaw: () => proc?.kill('SIGCONT'),
    async stop() {
      proc?.kill('SIGCONT');
      await kill();
    },
  };
}
