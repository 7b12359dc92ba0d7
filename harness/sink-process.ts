// Starts the counting sink (sink.ts) as its own process and talks to it over IPC.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface SinkReport {
  lines: number;
  distinct: number;
  duplicates: number;
  foreign: number;
  lastArrivalMs: number;
  /** The sink's own CPU so far (it is a harness process on the same cores). */
  cpuSeconds: number;
}

export interface Sink {
  readonly port: number;
  report(): Promise<SinkReport>;
  /** Writes each point's first arrival (hrtime ms, 0 when it never came) as float64s, by connection then sequence. */
  dump(file: string): Promise<void>;
  stop(): Promise<void>;
}

const here = dirname(fileURLToPath(import.meta.url));

/**
 * A sink expecting `perConnection` points from each of `connections` load connections, listening on
 * `host` (a loopback address; 127.0.0.1 unless given).
 */
export async function startSink(connections: number, perConnection: number, execArgv: string[] = [], host?: string): Promise<Sink> {
  const child = fork(join(here, 'sink.js'), [String(connections), String(perConnection), ...(host !== undefined ? [host] : [])], { stdio: 'inherit', execArgv });
  const [listening] = (await once(child, 'message')) as [{ port: number }];
  const ask = async <T>(msg: object, reply: string): Promise<T> => {
    child.send(msg);
    for (;;) {
      const [m] = (await once(child, 'message')) as [{ type: string } & T];
      if (m.type === reply) return m;
    }
  };
  return {
    port: listening.port,
    report: () => ask<SinkReport>({ type: 'report' }, 'report'),
    dump: (file) => ask({ type: 'dump', file }, 'dumped'),
    async stop() {
      if (child.exitCode !== null) return;
      child.send({ type: 'stop' });
      await once(child, 'exit');
    },
  };
}
