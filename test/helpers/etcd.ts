// Debian's etcd (etcd-server), run for real in a temporary directory on 127.0.0.1, and its own
// etcdctl to look at what our key stores wrote.
import { execFile, type ChildProcess } from 'node:child_process';
import { spawnTracked } from '../../harness/programs.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from './carbon.js';
import { terminate } from '../../harness/terminate.js';

const run = promisify(execFile);

export interface Etcd {
  /** host:port of the client endpoint. */
  readonly endpoint: string;
  /** Runs etcdctl (API v3) against this server; its stdout. */
  ctl(...args: string[]): Promise<string>;
  stop(): Promise<void>;
}

export async function startEtcd(): Promise<Etcd> {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-etcd-'));
  const [clientPort, peerPort] = [await freePort(), await freePort()];
  const endpoint = `127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const proc = spawnTracked(
    '/usr/bin/etcd',
    [
      '--name',
      'test',
      '--data-dir',
      join(dir, 'data'),
      '--listen-client-urls',
      `http://${endpoint}`,
      '--advertise-client-urls',
      `http://${endpoint}`,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `test=${peer}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const ready = untilEtcdReady(proc, 'etcd', 30_000);
  const stop = async (): Promise<void> => {
    await terminate(proc);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await ready;
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    endpoint,
    async ctl(...args) {
      const { stdout } = await run('/usr/bin/etcdctl', ['--endpoints', endpoint, ...args], { env: { ...process.env, ETCDCTL_API: '3' } });
      return stdout;
    },
    stop,
  };
}

/**
 * Resolves once an etcd process logs that it serves clients; rejects with the end of its output if
 * it exits first or `timeoutMs` passes. `who`: how the error names it.
 */
export function untilEtcdReady(proc: ChildProcess, who: string, timeoutMs: number): Promise<void> {
  let output = '';
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${who} did not become ready within ${timeoutMs / 1000} s:\n${output.slice(-2000)}`)), timeoutMs);
    const onData = (s: string): void => {
      output = (output + s).slice(-20_000);
      if (output.includes('ready to serve client requests')) {
        clearTimeout(timer);
        resolve();
      }
    };
    proc.stdout!.setEncoding('utf8').on('data', onData);
    proc.stderr!.setEncoding('utf8').on('data', onData);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${who} exited (${code}) before it was ready:\n${output.slice(-2000)}`));
    });
  });
}
