// `npm start`: the main job on an embedded default. A gateway (HTTPS, self-signed certificate made
// on first run, file key store with a generated key, destination: the console) and a proxy wired to
// it on :2003. State lives in ./.demo so a second run reuses the certificate and the key. The ports
// and the state directory are flags, so the demo can run beside something already on :2003.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseFlagsOrExit, type FlagSpec } from '../config/flags.js';
import { openKeyStore } from '../keys/open-store.js';
import { generateKey } from '../keys/generate.js';
import { log } from '../observe/log.js';
import { FlagReader } from '../config/validate.js';
import { versionText } from './version.js';

const FLAGS = [
  { name: 'listen-addr', type: 'string', default: '0.0.0.0:2003', usage: "The demo proxy's Graphite plaintext listen address" },
  { name: 'gateway-port', type: 'int', default: 8443, range: 'port', usage: "The demo gateway's HTTPS port on 127.0.0.1" },
  { name: 'gateway-stat-addr', type: 'string', default: 'localhost:2021', usage: "The demo gateway's runstats listen address" },
  { name: 'gateway-api-addr', type: 'string', default: 'localhost:2030', usage: "The demo gateway's destination API listen address" },
  { name: 'proxy-stat-addr', type: 'string', default: 'localhost:2020', usage: "The demo proxy's runstats listen address" },
  { name: 'state-dir', type: 'string', default: '.demo', usage: 'Where the certificate and the key store are kept between runs' },
] as const satisfies readonly FlagSpec[];
// Short enough that a point shows on the console within a second of being sent.
const FLUSH_INTERVAL = '500ms';
/** Each demo program's -shutdown-timeout; it exits within that plus a second. */
const CHILD_SHUTDOWN_TIMEOUT_S = 5;
/** A child still there after its own bound (and a second more) is killed. */
const CHILD_KILL_AFTER_MS = (CHILD_SHUTDOWN_TIMEOUT_S + 2) * 1000;

// From the first instant: Node's default for these would leave the children running (or kill us
// on SIGHUP). Until the children run, a stop signal just exits.
const children: ChildProcess[] = [];
let exiting = false;
function stopAll(code: number): void {
  if (exiting) return;
  exiting = true;
  const running = children.filter((c) => c.exitCode === null && c.signalCode === null);
  if (running.length === 0) process.exit(code);
  let left = running.length;
  for (const child of running) {
    child.once('exit', () => (--left === 0 ? process.exit(code) : undefined));
    child.kill('SIGTERM');
  }
  setTimeout(() => {
    for (const child of running) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      log(`a demo program (pid ${child.pid}) did not stop within ${CHILD_KILL_AFTER_MS / 1000}s of SIGTERM; killing it`);
      child.kill('SIGKILL');
    }
  }, CHILD_KILL_AFTER_MS).unref();
}
process.on('SIGINT', () => stopAll(0));
process.on('SIGTERM', () => stopAll(0));
process.on('SIGHUP', () => log('Received SIGHUP: ignored (reload is not implemented yet)'));

const { values } = parseFlagsOrExit('polymur-demo', FLAGS, 'POLYMUR_DEMO', { version: () => versionText('polymur-demo') });
const flags = FlagReader.of(FLAGS, values);
const GATEWAY_PORT = flags.int('gateway-port');
const listenAddr = flags.string('listen-addr');
const here = dirname(fileURLToPath(import.meta.url));
const stateDir = resolve(flags.string('state-dir'));
const certPath = join(stateDir, 'cert.pem');
const keyPath = join(stateDir, 'key.pem');
const keyStoreUrl = `file:${join(stateDir, 'keys.json')}`;

function ensureCertificate(): void {
  if (existsSync(certPath) && existsSync(keyPath)) return;
  log(`Making a self-signed certificate for localhost in ${stateDir}`);
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      keyPath,
      '-out',
      certPath,
      '-days',
      '365',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
    ],
    { stdio: 'ignore' },
  );
}

async function ensureKey(): Promise<string> {
  const store = openKeyStore(keyStoreUrl);
  try {
    const existing = await store.get('demo');
    if (existing) return existing;
    const key = generateKey();
    await store.put('demo', key);
    log('Registered the key "demo" in the demo key store');
    return key;
  } finally {
    await store.close();
  }
}

function run(program: string, args: string[]): ChildProcess {
  const child = spawn(process.execPath, [join(here, program), ...args, '-shutdown-timeout', `${CHILD_SHUTDOWN_TIMEOUT_S}s`], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  children.push(child);
  return child;
}

/** Resolves once the gateway accepts connections; rejects as soon as it has exited instead. */
function waitForGateway(gateway: ChildProcess, port: number, deadlineMs = 15_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  return new Promise((resolvePort, reject) => {
    const attempt = (): void => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolvePort();
      });
      socket.once('error', () => {
        socket.destroy();
        if (gateway.exitCode !== null) reject(new Error(`the demo gateway exited with code ${gateway.exitCode}`));
        else if (Date.now() > until) reject(new Error(`the demo gateway did not open port ${port}`));
        else setTimeout(attempt, 100);
      });
    };
    attempt();
  });
}

mkdirSync(stateDir, { recursive: true });
ensureCertificate();
const apiKey = await ensureKey();

const gateway = run('gateway.js', [
  '-listen-addr',
  '127.0.0.1',
  '-listen-https-port',
  String(GATEWAY_PORT),
  '-cert',
  certPath,
  '-key',
  keyPath,
  '-key-store',
  keyStoreUrl,
  '-console-out',
  '-stat-addr',
  flags.string('gateway-stat-addr'),
  '-api-addr',
  flags.string('gateway-api-addr'),
]);
await waitForGateway(gateway, GATEWAY_PORT);
run('proxy.js', [
  '-gateway',
  `https://localhost:${GATEWAY_PORT}`,
  '-cert',
  certPath,
  '-api-key',
  apiKey,
  '-listen-addr',
  listenAddr,
  '-stat-addr',
  flags.string('proxy-stat-addr'),
  '-flush-interval',
  FLUSH_INTERVAL,
]);

const listenPort = listenAddr.slice(listenAddr.lastIndexOf(':') + 1);
process.stdout.write(
  `\nPolymur demo: proxy on ${listenAddr} -> gateway https://localhost:${GATEWAY_PORT} -> console.\n` +
    `Send a data point:\n  echo "some.test.data 1337 $(date +%s)" | nc -N localhost ${listenPort}\n` +
    `It is printed here within a second (the proxy flushes every ${FLUSH_INTERVAL}). Ctrl-C stops both.\n\n`,
);

for (const child of children) {
  child.once('exit', (code) => {
    if (!exiting) {
      log(`a demo program exited with code ${code}; stopping the other`);
      stopAll(code ?? 1);
    }
  });
}
