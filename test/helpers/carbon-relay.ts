// Debian's carbon-relay (graphite-carbon), run for real on 127.0.0.1: Graphite plaintext in on its
// line port, every data point relayed with carbon's pickle protocol to each of the destinations
// (RELAY_METHOD rules, one default rule naming them all).
import { type ChildProcess } from 'node:child_process';
import { spawnTracked } from '../../harness/programs.js';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { accepts, freePort } from './carbon.js';
import { until } from './points.js';

export interface CarbonRelay {
  /** Its Graphite plaintext port. */
  readonly port: number;
  output(): string;
  stop(): Promise<void>;
}

/** `destinations`: host:port of pickle receivers. */
export async function startCarbonRelay(destinations: readonly string[]): Promise<CarbonRelay> {
  const dir = mkdtempSync(join(tmpdir(), 'polymur-carbon-relay-'));
  for (const sub of ['log', 'storage']) mkdirSync(join(dir, sub));
  const [port, picklePort] = [await freePort(), await freePort()];
  const conf = join(dir, 'carbon.conf');
  writeFileSync(
    conf,
    `[relay]
STORAGE_DIR = ${dir}/storage/
LOCAL_DATA_DIR = ${dir}/storage/
CONF_DIR = ${dir}/
LOG_DIR = ${dir}/log/
PID_DIR = ${dir}/
ENABLE_LOGROTATION = False
USER =
LINE_RECEIVER_INTERFACE = 127.0.0.1
LINE_RECEIVER_PORT = ${port}
PICKLE_RECEIVER_INTERFACE = 127.0.0.1
PICKLE_RECEIVER_PORT = ${picklePort}
RELAY_METHOD = rules
DESTINATIONS = ${destinations.join(', ')}
DESTINATION_PROTOCOL = pickle
MAX_QUEUE_SIZE = 100000
LOG_LISTENER_CONNECTIONS = False
`,
  );
  // carbon's daemons all read it at start, the relay too.
  writeFileSync(join(dir, 'storage-schemas.conf'), '[default]\npattern = .*\nretentions = 1s:1d\n');
  writeFileSync(join(dir, 'relay-rules.conf'), `[default]\ndefault = true\ndestinations = ${destinations.join(', ')}\n`);
  const proc: ChildProcess = spawnTracked('/usr/bin/carbon-relay', [`--config=${conf}`, '--instance=a', `--pidfile=${join(dir, 'carbon-relay-a.pid')}`, '--debug', 'start'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  proc.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
  proc.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
  const exited = once(proc, 'exit');
  await until(`carbon-relay on port ${port}`, async () => proc.exitCode !== null || (await accepts(port)), 30_000);
  if (proc.exitCode !== null) throw new Error(`carbon-relay exited:\n${output.slice(-2000)}`);
  return {
    port,
    output: () => output,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      proc.kill('SIGTERM');
      await exited;
    },
  };
}
