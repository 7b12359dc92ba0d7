// Debian's carbon-cache (graphite-carbon), run for real in a temporary directory on 127.0.0.1,
// writing whisper files with one-second resolution; values are read back with the whisper module
// of /usr/bin/python3 (Debian's carbon and whisper live there, not in the default python3).
import { execFile, type ChildProcess } from 'node:child_process';
import { spawnTracked } from '../../harness/programs.js';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { accepts, freePort } from '../../harness/free-port.js';

const run = promisify(execFile);

export interface Carbon {
  readonly port: number;
  readonly address: string;
  readonly whisperDir: string;
  whisperPath(metric: string): string;
  /** The stored points of a metric (null slots left out), oldest first. */
  fetch(metric: string): Promise<Array<[number, number]>>;
  /** The stored points of many metrics, read by one python process. */
  fetchMany(metrics: readonly string[]): Promise<Map<string, Array<[number, number]>>>;
  /** Every metric that has a whisper file. */
  storedMetrics(): string[];
  /** Resolves once the metric's whisper file exists. */
  waitForMetric(metric: string, timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
  /** Sends a signal to the running carbon-cache (SIGSTOP: it stops reading, its kernel still accepts). */
  signal(sig: NodeJS.Signals): void;
  /** Starts again on the same ports and directory. */
  start(): Promise<void>;
}

export { accepts, freePort };

async function until(what: string, check: () => Promise<boolean> | boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const FETCH = `
import json, sys, time, whisper
paths, since = json.load(sys.stdin), int(sys.argv[1])
out = []
for path in paths:
    (start, end, step), values = whisper.fetch(path, since, int(time.time()) + 1)
    out.append([[start + i * step, v] for i, v in enumerate(values) if v is not None])
print(json.dumps(out))
`;
import { terminate } from '../../harness/terminate.js';

function listWhisper(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.wsp'))
    .map((f) => relative(dir, join(dir, f)).slice(0, -'.wsp'.length).split('/').join('.'));
}

/**
 * Every carbon's directory (whisper files, logs: up to some 200 MB), removed when the test process
 * exits: not at stop(), since a stopped carbon may start again on the same files.
 */
const carbonDirs = new Set<string>();
process.once('exit', () => {
  for (const dir of carbonDirs) rmSync(dir, { recursive: true, force: true });
});

/** `host`: the loopback address it listens on (127.0.0.2…: carbons on distinct "hosts" for replication across hosts). */
export async function startCarbon(opts: { instance?: string; host?: string } = {}): Promise<Carbon> {
  const host = opts.host ?? '127.0.0.1';
  const dir = mkdtempSync(join(tmpdir(), 'polymur-carbon-'));
  carbonDirs.add(dir);
  const whisperDir = join(dir, 'whisper');
  for (const sub of ['whisper', 'lists', 'log']) mkdirSync(join(dir, sub), { recursive: true });
  const [port, picklePort, queryPort] = [await freePort(), await freePort(), await freePort()];
  const conf = join(dir, 'carbon.conf');
  writeFileSync(
    conf,
    `[cache]
STORAGE_DIR = ${dir}/
LOCAL_DATA_DIR = ${whisperDir}/
WHITELISTS_DIR = ${dir}/lists/
CONF_DIR = ${dir}/
LOG_DIR = ${dir}/log/
PID_DIR = ${dir}/
ENABLE_LOGROTATION = False
USER =
MAX_CACHE_SIZE = inf
MAX_UPDATES_PER_SECOND = 100000
MAX_CREATES_PER_MINUTE = inf
LINE_RECEIVER_INTERFACE = ${host}
LINE_RECEIVER_PORT = ${port}
ENABLE_UDP_LISTENER = False
PICKLE_RECEIVER_INTERFACE = ${host}
PICKLE_RECEIVER_PORT = ${picklePort}
CACHE_QUERY_INTERFACE = ${host}
CACHE_QUERY_PORT = ${queryPort}
LOG_LISTENER_CONNECTIONS = False
LOG_UPDATES = False
LOG_CREATES = False
CACHE_WRITE_STRATEGY = sorted
WHISPER_AUTOFLUSH = False
`,
  );
  writeFileSync(join(dir, 'storage-schemas.conf'), '[default]\npattern = .*\nretentions = 1s:1d\n');
  writeFileSync(join(dir, 'storage-aggregation.conf'), '[default]\npattern = .*\nxFilesFactor = 0\naggregationMethod = average\n');

  let proc: ChildProcess | undefined;
  let output = '';
  const instance = opts.instance ?? 'a';
  const start = async (): Promise<void> => {
    proc = spawnTracked('/usr/bin/carbon-cache', [`--config=${conf}`, `--instance=${instance}`, `--pidfile=${join(dir, `carbon-${instance}.pid`)}`, '--debug', 'start'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    proc.stdout!.setEncoding('utf8').on('data', (s: string) => (output += s));
    proc.stderr!.setEncoding('utf8').on('data', (s: string) => (output += s));
    const child = proc;
    const started = until(`carbon-cache on port ${port}`, async () => child.exitCode !== null || (await accepts(port, host)), 30_000);
    await started;
    if (child.exitCode !== null) throw new Error(`carbon-cache exited:\n${output.slice(-2000)}`);
  };
  const whisperPath = (metric: string): string => join(whisperDir, ...metric.split('.')) + '.wsp';
  const fetchMany = async (metrics: readonly string[]): Promise<Map<string, Array<[number, number]>>> => {
    const child = run('/usr/bin/python3', ['-c', FETCH, String(Math.floor(Date.now() / 1000) - 86_000)]);
    child.child.stdin!.end(JSON.stringify(metrics.map(whisperPath)));
    const { stdout } = await child;
    const series = JSON.parse(stdout) as Array<Array<[number, number]>>;
    return new Map(metrics.map((m, i) => [m, series[i]!]));
  };
  await start();

  return {
    port,
    address: `${host}:${port}`,
    whisperDir,
    whisperPath,
    async fetch(metric) {
      return (await fetchMany([metric])).get(metric)!;
    },
    fetchMany,
    storedMetrics: () => listWhisper(whisperDir),
    waitForMetric: (metric, timeoutMs = 30_000) => until(`whisper file of ${metric}`, () => existsSync(whisperPath(metric)), timeoutMs),
    signal(sig) {
      proc?.kill(sig);
    },
    async stop() {
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      await terminate(proc);
      await until('carbon-cache to release its port', async () => !(await accepts(port, host)), 10_000);
    },
    start,
  };
}

/** Several carbon-cache instances, each on its own ports; if one fails to start, the others are stopped. */
export async function startCarbons(instances: readonly string[], hosts?: readonly string[]): Promise<Carbon[]> {
  const started = await Promise.allSettled(instances.map((instance, i) => startCarbon({ instance, ...(hosts?.[i] ? { host: hosts[i] } : {}) })));
  const carbons = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) {
    await Promise.all(carbons.map((c) => c.stop()));
    throw failed.reason;
  }
  return carbons;
}
