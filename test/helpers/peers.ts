// Real Graphite senders: Debian's collectd (write_graphite plugin) and the statsd daemon from npm
// (graphite backend), each pointed at a Graphite plaintext port on 127.0.0.1.
import { type ChildProcess } from 'node:child_process';
import { spawnTracked } from '../../harness/programs.js';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';

export interface Peer {
  readonly proc: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

function run(command: string, args: string[]): Peer {
  const proc = spawnTracked(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
  const exited = once(proc, 'exit');
  return {
    proc,
    output: () => output,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

/** collectd with the load and memory plugins every second, writing Graphite lines to each port (over TCP, or UDP datagrams). */
export function startCollectd(port: number | readonly number[], hostname = 'e2ehost', protocol: 'tcp' | 'udp' = 'tcp'): Peer {
  const nodes = (typeof port === 'number' ? [port] : port).map(
    (p, i) => `  <Node "polymur${i}">
    Host "127.0.0.1"
    Port "${p}"
    Protocol "${protocol}"
    Prefix "collectd."
    StoreRates true
    AlwaysAppendDS false
  </Node>
`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'polymur-collectd-'));
  const conf = join(dir, 'collectd.conf');
  writeFileSync(
    conf,
    `Hostname "${hostname}"
FQDNLookup false
Interval 1
BaseDir "${dir}"
PIDFile "${dir}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
LoadPlugin load
LoadPlugin memory
LoadPlugin write_graphite
<Plugin write_graphite>
${nodes.join('')}</Plugin>
`,
  );
  return run('/usr/sbin/collectd', ['-f', '-C', conf]);
}

export interface Statsd extends Peer {
  /** Sends statsd lines (e.g. "e2e.hits:1|c") over UDP. */
  send(lines: string[]): Promise<void>;
}

/** The statsd daemon (npm package `statsd`) flushing to a Graphite plaintext port. */
export async function startStatsd(graphitePort: number, flushIntervalMs = 2000): Promise<Statsd> {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-statsd-'));
  const udpPort = await freeUdpPort();
  const conf = join(dir, 'config.js');
  writeFileSync(
    conf,
    JSON.stringify({
      graphitePort,
      graphiteHost: '127.0.0.1',
      address: '127.0.0.1',
      port: udpPort,
      flushInterval: flushIntervalMs,
      backends: ['./backends/graphite'],
      deleteIdleStats: true,
    }),
  );
  const require = createRequire(import.meta.url);
  const statsdDir = dirname(require.resolve('statsd/package.json'));
  const peer = run(process.execPath, [join(statsdDir, 'stats.js'), conf]);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`statsd did not start:\n${peer.output()}`)), 15_000);
    const check = (): void => {
      if (!/server is up/.test(peer.output())) return;
      clearTimeout(timer);
      peer.proc.stdout!.off('data', check);
      resolve();
    };
    peer.proc.stdout!.on('data', check);
    check();
  });
  const client = createSocket('udp4');
  return {
    ...peer,
    async send(lines) {
      for (const line of lines) {
        await new Promise<void>((resolve, reject) => client.send(line, udpPort, '127.0.0.1', (err) => (err ? reject(err) : resolve())));
      }
    },
    async stop() {
      client.close();
      await peer.stop();
    },
  };
}

async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  s.bind(0, '127.0.0.1');
  await once(s, 'listening');
  const port = s.address().port;
  s.close();
  return port;
}
